/**
 * `pnpm bench`: a realistic action life (created, retrieved, download, downloaded, proceeding,
 * closed) applied to 100,000 actions through the public API, measured against a bare XState actor
 * of a two-state toggle in the same process, plus the size of a persisted action.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  type ActionEvent,
  type ActionInput,
  type ActionSnapshot,
  applyActionEvent,
  createActionSnapshot,
  type EventTemplate,
  MemoryUpdateStore,
  persistAction,
  UpdateService,
} from '@otaflow/core';
import { createActor, createMachine } from 'xstate';

const ACTIONS = Number(process.env.BENCH_ACTIONS ?? 100_000);
/** Creation counts as the first event of an action's life, so 6 per action. */
const EVENTS_PER_ACTION = 6;
const EVENTS = ACTIONS * EVENTS_PER_ACTION;
const GOAL_EVENTS_PER_SECOND = 100_000;
const GOAL_SNAPSHOT_BYTES = 1024;

const progress = (line: string) => process.stdout.write(`  ${line}\n`);

const LIFE: ReadonlyArray<EventTemplate> = [
  { type: 'action.retrieved' },
  { type: 'action.download' },
  { type: 'action.downloaded' },
  { type: 'action.proceeding' },
  { type: 'action.finished', result: 'success' },
];

function inputOf(id: number): ActionInput {
  return {
    id,
    controllerId: `dev-${id}`,
    distributionSetId: 1,
    distributionSetName: 'os',
    distributionSetVersion: '1.0',
    type: 'forced',
    weight: 1000,
    confirmationRequired: false,
    createdAt: 1_700_000_000_000 + id,
  };
}

function live(id: number): ActionSnapshot {
  let snapshot = createActionSnapshot(inputOf(id));
  let at = snapshot.context.createdAt;
  for (const body of LIFE) {
    const result = applyActionEvent(snapshot, { ...body, at: ++at } as ActionEvent);
    if (!result.ok) throw new Error(result.message);
    snapshot = result.snapshot;
  }
  return snapshot;
}

function pureApi(from: number, to: number): number {
  const started = performance.now();
  for (let id = from; id < to; id++) {
    if (live(id).status !== 'done') throw new Error(`action ${id} did not close`);
  }
  return performance.now() - started;
}

/** One action per device, as in a fleet rollout; the targets exist before any clock starts. */
async function serviceWithTargets(count: number) {
  let now = 1_700_000_000_000;
  const svc = new UpdateService({ store: new MemoryUpdateStore(), clock: () => now++ });
  const module = await svc.createSoftwareModule({ type: 'os', name: 'os', version: '1.0' });
  const set = await svc.createDistributionSet({ name: 'os', version: '1.0', modules: [module.id] });
  for (let i = 0; i < count; i++)
    await svc.createTarget({ controllerId: `dev-${i}`, securityToken: 'x' });
  return { svc, setId: set.id };
}

async function viaService(
  svc: UpdateService,
  setId: number,
  from: number,
  to: number,
): Promise<number> {
  const started = performance.now();
  for (let i = from; i < to; i++) {
    const { actions } = await svc.assign(setId, [{ controllerId: `dev-${i}` }]);
    const id = actions[0]!.id;
    for (const body of LIFE) {
      const result = await svc.apply(id, { ...body, at: svc.now() } as ActionEvent);
      if (!result.ok) throw new Error(result.message);
    }
  }
  return performance.now() - started;
}

const toggle = createMachine({
  id: 'toggle',
  initial: 'off',
  states: { off: { on: { TOGGLE: 'on' } }, on: { on: { TOGGLE: 'off' } } },
});

function bareActor(events: number): number {
  const actor = createActor(toggle).start();
  const event = { type: 'TOGGLE' } as const;
  const started = performance.now();
  for (let i = 0; i < events; i++) actor.send(event);
  const elapsed = performance.now() - started;
  if (actor.getSnapshot().value !== (events % 2 ? 'on' : 'off'))
    throw new Error('the toggle lost an event');
  actor.stop();
  return elapsed;
}

const perSecond = (events: number, ms: number) => Math.round((events / ms) * 1000);

async function main(): Promise<void> {
  console.log(
    `@otaflow/core bench: ${ACTIONS.toLocaleString('en')} actions x ${EVENTS_PER_ACTION} events, node ${process.version}`,
  );
  progress('warming up');
  pureApi(0, 5_000);
  const warm = await serviceWithTargets(2_000);
  await viaService(warm.svc, warm.setId, 0, 2_000);
  bareActor(30_000);
  progress(`creating ${ACTIONS.toLocaleString('en')} targets (not timed)`);
  const { svc, setId } = await serviceWithTargets(ACTIONS);

  // The three run interleaved in rounds, so a busy machine slows all of them alike and the
  // ratios stay meaningful even when the absolute figures wobble.
  const ROUNDS = 10;
  const chunk = Math.ceil(ACTIONS / ROUNDS);
  let baselineMs = 0;
  let pureMs = 0;
  let serviceMs = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const from = round * chunk;
    const to = Math.min(ACTIONS, from + chunk);
    baselineMs += bareActor((to - from) * EVENTS_PER_ACTION);
    pureMs += pureApi(from, to);
    serviceMs += await viaService(svc, setId, from, to);
    progress(
      `round ${round + 1}/${ROUNDS}: ${to.toLocaleString('en')} actions; so far bare ${perSecond(to * EVENTS_PER_ACTION, baselineMs).toLocaleString('en')}, pure ${perSecond(to * EVENTS_PER_ACTION, pureMs).toLocaleString('en')}, service ${perSecond(to * EVENTS_PER_ACTION, serviceMs).toLocaleString('en')} events/s`,
    );
  }
  const baseline = perSecond(EVENTS, baselineMs);
  const pure = perSecond(EVENTS, pureMs);
  const service = perSecond(EVENTS, serviceMs);

  const finished = live(1);
  const withoutHistory = {
    ...finished,
    context: { ...finished.context, history: [] },
  } as ActionSnapshot;
  const bytesBare = Buffer.byteLength(JSON.stringify(persistAction(withoutHistory)));
  const bytesHistory = Buffer.byteLength(JSON.stringify(persistAction(finished)));
  if (finished.context.history.length !== 6) throw new Error('expected a 6-entry history');
  const toggleActor = createActor(toggle).start();
  const toggleBytes = Buffer.byteLength(JSON.stringify(toggleActor.getPersistedSnapshot()));
  toggleActor.stop();

  const ratio = (v: number, b: number) => Math.round((v / b) * 1000) / 1000;
  const figures = [
    {
      metric: 'bare XState toggle actor',
      value: baseline,
      unit: 'events/s',
      baseline,
      ratio: 1,
      goal: null,
    },
    {
      metric: 'pure API (createActionSnapshot + applyActionEvent)',
      value: pure,
      unit: 'events/s',
      baseline,
      ratio: ratio(pure, baseline),
      goal: GOAL_EVENTS_PER_SECOND,
    },
    {
      metric: 'UpdateService over MemoryUpdateStore',
      value: service,
      unit: 'events/s',
      baseline,
      ratio: ratio(service, baseline),
      goal: GOAL_EVENTS_PER_SECOND,
    },
    {
      metric: 'persisted action, history emptied',
      value: bytesBare,
      unit: 'bytes',
      baseline: toggleBytes,
      ratio: ratio(bytesBare, toggleBytes),
      goal: GOAL_SNAPSHOT_BYTES,
      // A ceiling, not a floor (the root `pnpm bench` report reads this flag).
      goalBelow: true,
    },
    {
      metric: 'persisted action, 6-entry history',
      value: bytesHistory,
      unit: 'bytes',
      baseline: toggleBytes,
      ratio: ratio(bytesHistory, toggleBytes),
      goal: null,
    },
  ];

  console.log('');
  console.table(
    figures.map((f) => ({
      metric: f.metric,
      value: `${f.value.toLocaleString('en')} ${f.unit}`,
      baseline: f.baseline.toLocaleString('en'),
      ratio: f.ratio,
      goal:
        f.goal === null ? '-' : `${f.unit === 'bytes' ? '<' : '>='} ${f.goal.toLocaleString('en')}`,
      met: f.goal === null ? '-' : f.unit === 'bytes' ? f.value < f.goal : f.value >= f.goal,
    })),
  );
  console.log(
    '(baseline: events/s of a bare two-state toggle actor, or bytes of its persisted snapshot)',
  );

  const result = {
    name: '@otaflow/core',
    date: new Date().toISOString(),
    machine: {
      cores: availableParallelism(),
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
    },
    figures,
  };
  writeFileSync(new URL('./result.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  console.log('wrote bench/result.json');
}

await main();
