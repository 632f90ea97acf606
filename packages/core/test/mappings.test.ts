import { describe, expect, it } from 'vitest';
import {
  type ActionStatus,
  DDI_EXECUTIONS,
  type DdiExecution,
  type DdiFinished,
  type EventTemplate,
  HUAWEI_RESULT_MAP,
  HUAWEI_STATE_MAP,
  type MappingResult,
  mapDdiConfirmation,
  mapDdiFeedback,
  mapHuaweiUpgradeResult,
  mapHuaweiUpgradeState,
  mapSoftwareUpdatableStatus,
  SUV2_STATUSES,
  type TargetUpdateStatus,
} from '../src/index.js';
import { serviceWithSet } from './fixtures.js';

/** The action a report is applied to: where ARCHITECTURE.md's tables say it would be. */
type Fixture = 'running' | 'canceling' | 'waiting' | 'downloadonly';

interface Outcome {
  status: ActionStatus;
  active: boolean;
  target: TargetUpdateStatus;
  /** The newest history entry, when it differs from `status` (a report recorded, not a move). */
  entry?: ActionStatus;
  /** History entries the report added, oldest first, when more than one. */
  added?: ActionStatus[];
}

interface Row {
  name: string;
  result: () => MappingResult;
  event: EventTemplate;
  on: Fixture;
  outcome: Outcome;
}

const REPORT = { at: 5_000, messages: ['from the device'], code: 42 };

async function actionIn(fixture: Fixture) {
  const { service, store, set } = await serviceWithSet({ name: 'os' });
  await service.createTarget({ controllerId: 'dev-map' });
  const { actions } = await service.assign(set.id, [
    {
      controllerId: 'dev-map',
      type: fixture === 'downloadonly' ? 'downloadonly' : 'forced',
      confirmationRequired: fixture === 'waiting',
    },
  ]);
  const id = actions[0]!.id;
  if (fixture !== 'waiting') {
    // RETRIEVED first, so a report that maps to RUNNING visibly changes the status.
    expect((await service.apply(id, { type: 'action.retrieved', at: service.now() })).ok).toBe(
      true,
    );
  }
  if (fixture === 'canceling') expect((await service.cancel(id)).ok).toBe(true);
  return { service, store, id };
}

async function check(row: Row): Promise<void> {
  const mapped = row.result();
  expect(mapped).toEqual({ kind: 'event', event: { ...row.event, ...REPORT } });
  if (mapped.kind !== 'event') return;
  const { service, id } = await actionIn(row.on);
  const before = (await service.getActionHistory(id))!.length;
  const applied = await service.apply(id, mapped.event);
  expect(applied).toMatchObject({
    ok: true,
    action: { status: row.outcome.status, active: row.outcome.active, lastStatusCode: 42 },
    targetStatus: row.outcome.target,
  });
  expect((await service.getTarget('dev-map'))?.updateStatus).toBe(row.outcome.target);
  const history = (await service.getActionHistory(id))!;
  const added = history.slice(before).map((h) => h.status);
  expect(added).toEqual(row.outcome.added ?? [row.outcome.entry ?? row.outcome.status]);
  expect(history.at(-1)).toMatchObject({ at: REPORT.at, messages: REPORT.messages, code: 42 });
}

const FINISHED: Outcome = { status: 'FINISHED', active: false, target: 'IN_SYNC' };
const ERROR: Outcome = { status: 'ERROR', active: false, target: 'ERROR' };
const CANCELED: Outcome = { status: 'CANCELED', active: false, target: 'IN_SYNC' };
const going = (status: ActionStatus, entry?: ActionStatus): Outcome => ({
  status,
  active: true,
  target: 'PENDING',
  ...(entry ? { entry } : {}),
});

// ---- DDI feedback: one row per (endpoint, execution, finished)

const DEPLOYMENT: Record<DdiExecution, (finished: DdiFinished) => [EventTemplate, Outcome]> = {
  closed: (f) =>
    f === 'failure'
      ? [{ type: 'action.finished', result: 'failure' }, ERROR]
      : [{ type: 'action.finished', result: 'success' }, FINISHED],
  // No cancel was asked: recorded as a CANCELED entry, the action goes on.
  canceled: () => [{ type: 'action.deviceCanceled' }, going('RETRIEVED', 'CANCELED')],
  rejected: () => [{ type: 'action.rejected' }, going('WARNING')],
  download: () => [{ type: 'action.download' }, going('DOWNLOAD')],
  downloaded: () => [{ type: 'action.downloaded' }, going('DOWNLOADED')],
  proceeding: () => [{ type: 'action.proceeding' }, going('RUNNING')],
  scheduled: () => [{ type: 'action.proceeding' }, going('RUNNING')],
  resumed: () => [{ type: 'action.proceeding' }, going('RUNNING')],
};

const CANCEL: Record<DdiExecution, (finished: DdiFinished) => [EventTemplate, Outcome]> = {
  closed: (f) =>
    f === 'failure'
      ? [{ type: 'cancel.failed' }, going('RUNNING')]
      : [{ type: 'cancel.confirmed' }, CANCELED],
  canceled: () => [{ type: 'cancel.confirmed' }, CANCELED],
  // hawkBit: the CANCEL_REJECTED entry is kept and the action is RUNNING again.
  rejected: () => [
    { type: 'cancel.rejected' },
    { ...going('RUNNING'), added: ['CANCEL_REJECTED', 'RUNNING'] },
  ],
  download: () => [
    { type: 'cancel.progress', reported: 'DOWNLOAD' },
    going('CANCELING', 'DOWNLOAD'),
  ],
  downloaded: () => [
    { type: 'cancel.progress', reported: 'DOWNLOADED' },
    going('CANCELING', 'DOWNLOADED'),
  ],
  proceeding: () => [{ type: 'cancel.progress', reported: 'CANCELING' }, going('CANCELING')],
  scheduled: () => [{ type: 'cancel.progress', reported: 'CANCELING' }, going('CANCELING')],
  resumed: () => [{ type: 'cancel.progress', reported: 'CANCELING' }, going('CANCELING')],
};

const FINISHES: DdiFinished[] = ['success', 'failure', 'none'];

const ddiRows: Row[] = [
  ...DDI_EXECUTIONS.flatMap((execution) =>
    FINISHES.map((finished): Row => {
      const [event, outcome] = DEPLOYMENT[execution](finished);
      return {
        name: `deploymentBase ${execution}/${finished}`,
        result: () => mapDdiFeedback('deployment', { execution, finished, ...REPORT }),
        event,
        on: 'running',
        outcome,
      };
    }),
  ),
  ...DDI_EXECUTIONS.flatMap((execution) =>
    FINISHES.map((finished): Row => {
      const [event, outcome] = CANCEL[execution](finished);
      return {
        name: `cancelAction ${execution}/${finished}`,
        result: () => mapDdiFeedback('cancel', { execution, finished, ...REPORT }),
        event,
        on: 'canceling',
        outcome,
      };
    }),
  ),
  {
    name: 'deploymentBase downloaded on a download-only action ends it',
    result: () => mapDdiFeedback('deployment', { execution: 'downloaded', ...REPORT }),
    event: { type: 'action.downloaded' },
    on: 'downloadonly',
    outcome: { status: 'DOWNLOADED', active: false, target: 'IN_SYNC' },
  },
  {
    name: 'deploymentBase canceled while CANCELING completes the cancel',
    result: () => mapDdiFeedback('deployment', { execution: 'canceled', ...REPORT }),
    event: { type: 'action.deviceCanceled' },
    on: 'canceling',
    outcome: CANCELED,
  },
  {
    name: 'confirmationBase confirmed',
    result: () => mapDdiConfirmation('confirmed', REPORT),
    event: { type: 'action.confirmed' },
    on: 'waiting',
    outcome: going('RUNNING'),
  },
  {
    name: 'confirmationBase denied',
    result: () => mapDdiConfirmation('denied', REPORT),
    event: { type: 'action.denied' },
    on: 'waiting',
    outcome: going('WAIT_FOR_CONFIRMATION'),
  },
];

describe('DDI feedback mapping', () => {
  it('has a row for every execution x finished on both endpoints', () => {
    expect(
      ddiRows.filter((r) => r.name.startsWith('deploymentBase ') && r.name.includes('/')),
    ).toHaveLength(24);
    expect(ddiRows.filter((r) => r.name.startsWith('cancelAction '))).toHaveLength(24);
  });
  it.each(ddiRows.map((r) => [r.name, r] as const))('%s', async (_name, row) => check(row));
  it('ignores an unknown execution', () => {
    expect(
      mapDdiFeedback('deployment', { execution: 'paused' as DdiExecution, at: 1 }),
    ).toMatchObject({ kind: 'ignored' });
    expect(mapDdiConfirmation('maybe' as 'confirmed', { at: 1 })).toMatchObject({
      kind: 'ignored',
    });
  });
});

// ---- SoftwareUpdatable 2.0.0 lastOperation.status

const SUV2: Record<string, { event: EventTemplate; on: Fixture; outcome: Outcome } | 'ignored'> = {
  STARTED: { event: { type: 'action.proceeding' }, on: 'running', outcome: going('RUNNING') },
  DOWNLOADING: { event: { type: 'action.download' }, on: 'running', outcome: going('DOWNLOAD') },
  DOWNLOADING_WAITING: {
    event: { type: 'action.proceeding' },
    on: 'running',
    outcome: going('RUNNING'),
  },
  DOWNLOADED: {
    event: { type: 'action.downloaded' },
    on: 'downloadonly',
    outcome: { status: 'DOWNLOADED', active: false, target: 'IN_SYNC' },
  },
  INSTALLING: { event: { type: 'action.proceeding' }, on: 'running', outcome: going('RUNNING') },
  INSTALLING_WAITING: {
    event: { type: 'action.proceeding' },
    on: 'running',
    outcome: going('RUNNING'),
  },
  INSTALLED: { event: { type: 'action.proceeding' }, on: 'running', outcome: going('RUNNING') },
  REMOVING: 'ignored',
  REMOVING_WAITING: 'ignored',
  REMOVED: 'ignored',
  CANCELING: {
    event: { type: 'cancel.progress', reported: 'CANCELING' },
    on: 'canceling',
    outcome: going('CANCELING'),
  },
  CANCELING_WAITING: {
    event: { type: 'cancel.progress', reported: 'CANCELING' },
    on: 'canceling',
    outcome: going('CANCELING'),
  },
  CANCEL_REJECTED: {
    event: { type: 'cancel.rejected' },
    on: 'canceling',
    outcome: { ...going('RUNNING'), added: ['CANCEL_REJECTED', 'RUNNING'] },
  },
  FINISHED_CANCELED: { event: { type: 'action.canceled' }, on: 'running', outcome: CANCELED },
  FINISHED_ERROR: {
    event: { type: 'action.finished', result: 'failure' },
    on: 'running',
    outcome: ERROR,
  },
  FINISHED_SUCCESS: {
    event: { type: 'action.finished', result: 'success' },
    on: 'running',
    outcome: FINISHED,
  },
  FINISHED_WARNING: {
    event: { type: 'action.finished', result: 'success', warning: true },
    on: 'running',
    outcome: { ...FINISHED, added: ['WARNING', 'FINISHED'] },
  },
  FINISHED_REJECTED: {
    event: { type: 'action.finished', result: 'failure' },
    on: 'running',
    outcome: ERROR,
  },
};

describe('SoftwareUpdatable 2.0.0 mapping', () => {
  it('has a row for each of the 18 statuses', () => {
    expect(Object.keys(SUV2).sort()).toEqual([...SUV2_STATUSES].sort());
  });
  it.each(Object.entries(SUV2))('%s', async (status, row) => {
    if (row === 'ignored') {
      expect(mapSoftwareUpdatableStatus(status, REPORT)).toMatchObject({ kind: 'ignored' });
      return;
    }
    await check({ name: status, result: () => mapSoftwareUpdatableStatus(status, REPORT), ...row });
  });
  it('DOWNLOADED on an ordinary action is DOWNLOADED, still active', async () => {
    await check({
      name: 'DOWNLOADED',
      result: () => mapSoftwareUpdatableStatus('DOWNLOADED', REPORT),
      event: { type: 'action.downloaded' },
      on: 'running',
      outcome: going('DOWNLOADED'),
    });
  });
  it('FINISHED_WARNING can be configured to end in ERROR', async () => {
    await check({
      name: 'FINISHED_WARNING as failure',
      result: () =>
        mapSoftwareUpdatableStatus('FINISHED_WARNING', REPORT, { finishedWarningAs: 'failure' }),
      event: { type: 'action.finished', result: 'failure', warning: true },
      on: 'running',
      outcome: { ...ERROR, added: ['WARNING', 'ERROR'] },
    });
  });
  it('records and ignores an unknown status, never throws', () => {
    expect(mapSoftwareUpdatableStatus('EXPLODED', REPORT)).toEqual({
      kind: 'ignored',
      reason: 'unknown SoftwareUpdatable status EXPLODED',
    });
  });
});

// ---- Huawei swUpgradeState / swUpgradeResult (the fw siblings use the same functions)

const HUAWEI_STATES: Record<
  string,
  { event: EventTemplate; on: Fixture; outcome: Outcome } | 'ignored'
> = {
  downloading: { event: { type: 'action.download' }, on: 'running', outcome: going('DOWNLOAD') },
  downloaded: { event: { type: 'action.downloaded' }, on: 'running', outcome: going('DOWNLOADED') },
  updating: { event: { type: 'action.proceeding' }, on: 'running', outcome: going('RUNNING') },
  idle: 'ignored',
};
const HUAWEI_RESULTS: Record<string, { event: EventTemplate; outcome: Outcome }> = {
  SUCCESS: { event: { type: 'action.finished', result: 'success' }, outcome: FINISHED },
  FAIL: { event: { type: 'action.finished', result: 'failure' }, outcome: ERROR },
};

describe('Huawei upgrade mapping', () => {
  it('has a row for every state and result', () => {
    expect(Object.keys(HUAWEI_STATES).sort()).toEqual(Object.keys(HUAWEI_STATE_MAP).sort());
    expect(Object.keys(HUAWEI_RESULTS).sort()).toEqual(Object.keys(HUAWEI_RESULT_MAP).sort());
  });
  it.each(Object.entries(HUAWEI_STATES))('sw/fwUpgradeState %s', async (state, row) => {
    if (row === 'ignored') {
      expect(mapHuaweiUpgradeState(state, REPORT)).toMatchObject({ kind: 'ignored' });
      return;
    }
    await check({ name: state, result: () => mapHuaweiUpgradeState(state, REPORT), ...row });
  });
  it.each(Object.entries(HUAWEI_RESULTS))('sw/fwUpgradeResult %s', async (result, row) => {
    await check({
      name: result,
      result: () => mapHuaweiUpgradeResult(result, REPORT),
      on: 'running',
      ...row,
    });
  });
  it('ignores unknown states and results', () => {
    expect(mapHuaweiUpgradeState('rebooting', REPORT)).toMatchObject({ kind: 'ignored' });
    expect(mapHuaweiUpgradeResult('MAYBE', REPORT)).toMatchObject({ kind: 'ignored' });
  });
});

describe('mapped reports on a closed action', () => {
  it('are refused with ACTION_CLOSED and change nothing', async () => {
    const { service, store, id } = await actionIn('running');
    const done = mapDdiFeedback('deployment', {
      execution: 'closed',
      finished: 'success',
      at: 6_000,
    });
    if (done.kind !== 'event') throw new Error('expected an event');
    expect((await service.apply(id, done.event)).ok).toBe(true);
    const stored = await store.getAction(id);
    const late = mapDdiFeedback('deployment', {
      execution: 'closed',
      finished: 'failure',
      at: 6_001,
    });
    if (late.kind !== 'event') throw new Error('expected an event');
    expect(await service.apply(id, late.event)).toMatchObject({ ok: false, code: 'ACTION_CLOSED' });
    expect(await store.getAction(id)).toBe(stored);
  });
});

describe('a rejected cancel (issue 15: the action stayed CANCEL_REJECTED)', () => {
  it.each([
    [
      'DDI rejected on cancelAction',
      () => mapDdiFeedback('cancel', { execution: 'rejected', at: 6_000 }),
    ],
    ['SUv2 CANCEL_REJECTED', () => mapSoftwareUpdatableStatus('CANCEL_REJECTED', { at: 6_000 })],
  ])('%s: RUNNING again, the entry kept, and the device can finish', async (_, rejected) => {
    const { service, id } = await actionIn('canceling');
    const mapped = rejected();
    if (mapped.kind !== 'event') throw new Error('expected an event');
    expect(await service.apply(id, mapped.event)).toMatchObject({
      ok: true,
      action: { status: 'RUNNING', active: true },
      targetStatus: 'PENDING',
    });
    const done = mapDdiFeedback('deployment', {
      execution: 'closed',
      finished: 'success',
      at: 6_001,
    });
    if (done.kind !== 'event') throw new Error('expected an event');
    expect(await service.apply(id, done.event)).toMatchObject({
      ok: true,
      action: { status: 'FINISHED', active: false },
      targetStatus: 'IN_SYNC',
    });
    expect((await service.getActionHistory(id))!.map((h) => h.status)).toEqual([
      'RUNNING',
      'RETRIEVED',
      'CANCELING',
      'CANCEL_REJECTED',
      'RUNNING',
      'FINISHED',
    ]);
  });

  it('can be asked to cancel again, and that cancel can succeed', async () => {
    const { service, id } = await actionIn('canceling');
    expect((await service.apply(id, { type: 'cancel.rejected', at: 6_000 })).ok).toBe(true);
    expect(await service.cancel(id)).toMatchObject({ ok: true });
    expect((await service.getAction(id))?.status).toBe('CANCELING');
    expect(await service.apply(id, { type: 'cancel.confirmed', at: 6_002 })).toMatchObject({
      ok: true,
      action: { status: 'CANCELED', active: false },
      targetStatus: 'IN_SYNC',
    });
  });
});
