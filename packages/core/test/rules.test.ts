import { describe, expect, it } from 'vitest';
import {
  type ActionRecord,
  type ActionView,
  compareActionPriority,
  confirmationStateOf,
  isForcedNow,
  isInSync,
  MemoryUpdateStore,
  OtaflowError,
  planAssignment,
  selectNextAction,
} from '../src/index.js';
import { serviceWithSet } from './fixtures.js';

function view(id: number, patch: Partial<ActionView> = {}): ActionView {
  return {
    id,
    controllerId: 'dev',
    distributionSetId: id,
    distributionSetName: 'os',
    distributionSetVersion: String(id),
    type: 'forced',
    weight: 500,
    confirmationRequired: false,
    createdAt: 1_000 + id,
    status: 'RUNNING',
    lastModifiedAt: 1_000 + id,
    active: true,
    state: 'running.running',
    ...patch,
  };
}

describe('selectNextAction', () => {
  it('serves a pending cancel first, the oldest one', () => {
    const next = selectNextAction([
      view(1, { weight: 1000 }),
      view(2, { status: 'CANCELING', state: 'canceling', createdAt: 5 }),
      view(3, { status: 'CANCELING', state: 'canceling', createdAt: 4 }),
    ]);
    expect(next).toMatchObject({ kind: 'cancel', action: { id: 3 } });
  });
  it('then the highest weight, then the oldest, then the lowest id', () => {
    expect(selectNextAction([view(1, { weight: 10 }), view(2, { weight: 900 })])?.action.id).toBe(
      2,
    );
    expect(
      selectNextAction([view(1, { createdAt: 9 }), view(2, { createdAt: 3 })])?.action.id,
    ).toBe(2);
    expect(
      selectNextAction([view(5, { createdAt: 3 }), view(4, { createdAt: 3 })])?.action.id,
    ).toBe(4);
    expect(compareActionPriority(view(1, { weight: 1 }), view(2, { weight: 2 }))).toBeGreaterThan(
      0,
    );
  });
  it('shows a waiting action as a confirmation, and never a closed or scheduled one', () => {
    expect(selectNextAction([view(1, { status: 'WAIT_FOR_CONFIRMATION' })])?.kind).toBe(
      'confirmation',
    );
    expect(
      selectNextAction([
        view(1, { active: false, status: 'FINISHED', weight: 1000 }),
        view(2, { active: false, status: 'SCHEDULED', weight: 1000 }),
        view(3, { weight: 0 }),
      ]),
    ).toMatchObject({ kind: 'deployment', action: { id: 3 } });
    expect(selectNextAction([view(1, { active: false, status: 'ERROR' })])).toBeUndefined();
    expect(selectNextAction([])).toBeUndefined();
  });
});

describe('planAssignment', () => {
  it('creates nothing when the same set is still being rolled out', () => {
    expect(planAssignment([view(1, { distributionSetId: 7 })], 7)).toEqual({
      alreadyAssigned: true,
      cancel: [],
    });
  });
  it('cancels every earlier active action that is not canceling yet', () => {
    const actions = [
      view(1, { distributionSetId: 1 }),
      view(2, { distributionSetId: 2, status: 'CANCELING' }),
      view(3, { distributionSetId: 3, active: false, status: 'FINISHED' }),
      view(4, { distributionSetId: 4, status: 'WAIT_FOR_CONFIRMATION' }),
    ];
    expect(planAssignment(actions, 9)).toEqual({ alreadyAssigned: false, cancel: [1, 4] });
  });
  it('assigns again a set whose action is being canceled', () => {
    expect(planAssignment([view(1, { distributionSetId: 7, status: 'CANCELING' })], 7)).toEqual({
      alreadyAssigned: false,
      cancel: [],
    });
  });
});

describe('isForcedNow', () => {
  it('is true for forced, false for soft and downloadonly, and time-dependent for timeforced', () => {
    expect(isForcedNow({ type: 'forced' }, 0)).toBe(true);
    expect(isForcedNow({ type: 'soft' }, 10 ** 13)).toBe(false);
    expect(isForcedNow({ type: 'downloadonly' }, 10 ** 13)).toBe(false);
    expect(isForcedNow({ type: 'timeforced', forcedTime: 100 }, 99)).toBe(false);
    expect(isForcedNow({ type: 'timeforced', forcedTime: 100 }, 100)).toBe(true);
    expect(isForcedNow({ type: 'timeforced' }, 10 ** 13)).toBe(false);
  });
});

describe('confirmationStateOf and isInSync', () => {
  it("gives SIE's confirmation field", () => {
    expect(confirmationStateOf({ confirmationRequired: false, status: 'RUNNING' })).toBe(
      'not_applicable',
    );
    expect(
      confirmationStateOf({ confirmationRequired: true, status: 'WAIT_FOR_CONFIRMATION' }),
    ).toBe('pending');
    expect(confirmationStateOf({ confirmationRequired: true, status: 'RUNNING' })).toBe('given');
  });
  it('is IN_SYNC only with assigned == installed and nothing active', () => {
    expect(
      isInSync({ assignedDistributionSetId: 1, installedDistributionSetId: 1, activeActions: 0 }),
    ).toBe(true);
    expect(isInSync({ activeActions: 0 })).toBe(true);
    expect(
      isInSync({ assignedDistributionSetId: 2, installedDistributionSetId: 1, activeActions: 0 }),
    ).toBe(false);
    expect(
      isInSync({ assignedDistributionSetId: 1, installedDistributionSetId: 1, activeActions: 1 }),
    ).toBe(false);
  });
});

const setup = (options: { maxHistory?: number; store?: MemoryUpdateStore } = {}) =>
  serviceWithSet({ ...options, name: 'os', secondVersion: '2' });

describe('auto-confirm', () => {
  it('confirms the actions that wait when it is turned on', async () => {
    const { service, set } = await setup();
    await service.createTarget({ controllerId: 'dev-a' });
    const [action] = (
      await service.assign(set.id, [{ controllerId: 'dev-a', confirmationRequired: true }])
    ).actions;
    expect(action?.status).toBe('WAIT_FOR_CONFIRMATION');
    expect((await service.nextActionFor('dev-a'))?.kind).toBe('confirmation');
    const target = await service.setAutoConfirm('dev-a', {
      active: true,
      initiator: 'ops',
      remark: 'fleet',
    });
    expect(target.autoConfirm).toMatchObject({ active: true, initiator: 'ops', remark: 'fleet' });
    expect((await service.getAction(action!.id))?.status).toBe('RUNNING');
    const history = await service.getActionHistory(action!.id);
    expect(history?.at(-1)?.messages?.[0]).toContain("initiator 'ops'");
    expect((await service.nextActionFor('dev-a'))?.kind).toBe('deployment');
  });

  it('starts an assignment that asks for confirmation RUNNING on an auto-confirm target', async () => {
    const { service, events, set, set2 } = await setup();
    await service.createTarget({ controllerId: 'dev-b' });
    await service.setAutoConfirm('dev-b', { active: true });
    const [action] = (
      await service.assign(set.id, [{ controllerId: 'dev-b', confirmationRequired: true }])
    ).actions;
    expect(action).toMatchObject({ status: 'RUNNING', confirmationRequired: true });
    const assignment = events.find((e) => e.type === 'UPDATE_ASSIGNMENT');
    expect(assignment).toMatchObject({
      targets: [{ controllerId: 'dev-b', confirmation: 'given' }],
    });
    expect((await service.getActionHistory(action!.id))?.map((h) => h.status)).toEqual([
      'WAIT_FOR_CONFIRMATION',
      'RUNNING',
    ]);
    // Turned off again, the next assignment waits for the device.
    await service.setAutoConfirm('dev-b', { active: false });
    const [next] = (
      await service.assign(set2.id, [{ controllerId: 'dev-b', confirmationRequired: true }])
    ).actions;
    expect(next?.status).toBe('WAIT_FOR_CONFIRMATION');
  });
});

describe('bounded history', () => {
  it('keeps only the newest maxHistory entries', async () => {
    const { service, set } = await setup({ maxHistory: 3 });
    await service.createTarget({ controllerId: 'dev-h' });
    const [action] = (await service.assign(set.id, [{ controllerId: 'dev-h' }])).actions;
    for (const type of [
      'action.retrieved',
      'action.download',
      'action.downloaded',
      'action.proceeding',
    ] as const) {
      expect((await service.apply(action!.id, { type, at: service.now() })).ok).toBe(true);
    }
    await service.apply(action!.id, {
      type: 'action.finished',
      result: 'success',
      at: service.now(),
    });
    expect((await service.getActionHistory(action!.id))?.map((h) => h.status)).toEqual([
      'DOWNLOADED',
      'RUNNING',
      'FINISHED',
    ]);
  });
  it("defaults to hawkBit's 1000", async () => {
    const { service, store, set } = await setup();
    await service.createTarget({ controllerId: 'dev-h2' });
    const [action] = (await service.assign(set.id, [{ controllerId: 'dev-h2' }])).actions;
    const record = await store.getAction(action!.id);
    expect(record?.state.context.maxHistory).toBe(1000);
  });
});

describe('optimistic concurrency', () => {
  it('MemoryUpdateStore refuses a stale write with CONFLICT and keeps the stored record', async () => {
    const { service, store, set } = await setup();
    await service.createTarget({ controllerId: 'dev-c' });
    const [action] = (await service.assign(set.id, [{ controllerId: 'dev-c' }])).actions;
    const record = (await store.getAction(action!.id))!;
    await service.apply(action!.id, { type: 'action.retrieved', at: service.now() });
    const stale: ActionRecord = { ...record, version: record.version + 1 };
    const error = await store.putAction(stale, record.version).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OtaflowError);
    expect(error).toMatchObject({ code: 'CONFLICT' });
    expect((await service.getAction(action!.id))?.status).toBe('RETRIEVED');
    const target = (await store.getTarget('dev-c'))!;
    await expect(store.putTarget(target, -1)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it("retries a write that lost a race against another process's write", async () => {
    // Another process writes between our read and our write, once: the service reads again.
    class RacingStore extends MemoryUpdateStore {
      raced = false;
      override async putAction(record: ActionRecord, expectedVersion?: number) {
        if (!this.raced && expectedVersion !== undefined && expectedVersion >= 0) {
          this.raced = true;
          const current = (await this.getAction(record.id))!;
          await super.putAction({ ...current, version: current.version + 1 }, current.version);
        }
        return super.putAction(record, expectedVersion);
      }
    }
    const store = new RacingStore();
    const { service, set } = await setup({ store });
    await service.createTarget({ controllerId: 'dev-r' });
    const [action] = (await service.assign(set.id, [{ controllerId: 'dev-r' }])).actions;
    const result = await service.apply(action!.id, { type: 'action.download', at: service.now() });
    expect(store.raced).toBe(true);
    expect(result).toMatchObject({ ok: true, action: { status: 'DOWNLOAD' } });
    expect((await store.getAction(action!.id))?.version).toBe(2);
  });

  it('keeps concurrent applies on one target consistent (per-target lock)', async () => {
    const { service, store, set } = await setup();
    await service.createTarget({ controllerId: 'dev-p' });
    const [action] = (await service.assign(set.id, [{ controllerId: 'dev-p' }])).actions;
    const id = action!.id;
    const reports = Array.from({ length: 40 }, (_, i) =>
      service.apply(id, { type: i % 2 ? 'action.download' : 'action.proceeding', at: 2_000 + i }),
    );
    const finish = service.apply(id, { type: 'action.finished', result: 'success', at: 3_000 });
    const late = service.apply(id, { type: 'action.download', at: 3_001 });
    const results = await Promise.all([...reports, finish, late]);
    // Every report before the finish went through, in order; the one after it was refused.
    expect(results.slice(0, 41).every((r) => r.ok)).toBe(true);
    expect(results[41]).toMatchObject({ ok: false, code: 'ACTION_CLOSED' });
    const history = (await service.getActionHistory(id))!;
    expect(history).toHaveLength(1 + 41);
    expect(history.map((h) => h.at)).toEqual([
      history[0]!.at,
      ...Array.from({ length: 40 }, (_, i) => 2_000 + i),
      3_000,
    ]);
    expect((await store.getAction(id))?.version).toBe(41);
    expect((await service.getTarget('dev-p'))?.updateStatus).toBe('IN_SYNC');
  });
});

describe('target status, directed cases', () => {
  it('settles IN_SYNC when the last active action succeeds after a later assignment closed first', async () => {
    // Found by the service property: a rejected cancel lets two actions run; the newer one
    // finishes first, the older one last. Nothing is in flight, so the target must not stay PENDING.
    const { service, set, set2 } = await setup();
    await service.createTarget({ controllerId: 'dev-s' });
    const [first] = (await service.assign(set.id, [{ controllerId: 'dev-s' }])).actions;
    const [second] = (await service.assign(set2.id, [{ controllerId: 'dev-s' }])).actions;
    expect(
      (await service.apply(first!.id, { type: 'cancel.rejected', at: service.now() })).action
        ?.status,
      // Was CANCEL_REJECTED (the defect of issue 15): hawkBit sets a rejected cancel RUNNING again.
    ).toBe('RUNNING');
    expect(
      await service.apply(second!.id, {
        type: 'action.finished',
        result: 'success',
        at: service.now(),
      }),
    ).toMatchObject({
      targetStatus: 'PENDING',
    });
    expect(
      await service.apply(first!.id, {
        type: 'action.finished',
        result: 'success',
        at: service.now(),
      }),
    ).toMatchObject({
      targetStatus: 'IN_SYNC',
    });
    const target = await service.getTarget('dev-s');
    expect(target).toMatchObject({
      assignedDistributionSetId: set.id,
      installedDistributionSetId: set.id,
    });
  });
});
