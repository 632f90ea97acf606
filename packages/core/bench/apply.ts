/**
 * `pnpm bench:apply`: the per-report path an adapter takes, one operation at a time, in CPU µs and
 * heap bytes allocated per call. `UpdateService.apply` for a report that leaves the action open
 * (the common case: DOWNLOAD / RUNNING feedback), the ownership-checked apply, a closing report, the
 * ref lookups, `mapDdiFeedback` and `KeyedLock.run`, against an empty async call as the baseline.
 *
 * Allocation is read from the heap's used size around batches small enough that no scavenge runs
 * in most of them; a batch in which the young generation shrank (a GC ran) is dropped.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { getHeapSpaceStatistics } from 'node:v8';
import {
  type ActionEvent,
  KeyedLock,
  MemoryUpdateStore,
  mapDdiFeedback,
  UpdateService,
} from '@otaflow/core';

const TARGETS = Number(process.env.BENCH_TARGETS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = 100;

const progress = (line: string) => process.stdout.write(`  ${line}\n`);

function youngUsed(): number {
  for (const space of getHeapSpaceStatistics())
    if (space.space_name === 'new_space') return space.space_used_size;
  return 0;
}

interface Figure {
  metric: string;
  cpuMicros: number;
  bytes: number;
  ops: number;
}

/** Runs `op(i)` `count` times in batches; CPU µs per op over all, bytes per op over GC-free batches. */
async function measure(
  metric: string,
  count: number,
  op: (i: number) => Promise<unknown> | unknown,
): Promise<Figure> {
  const byteSamples: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let start = 0; start < count; start += BATCH) {
    const end = Math.min(count, start + BATCH);
    const heap0 = youngUsed();
    for (let i = start; i < end; i++) await op(i);
    const heap1 = youngUsed();
    if (heap1 >= heap0) byteSamples.push((heap1 - heap0) / (end - start));
  }
  const cpu = process.cpuUsage(cpu0);
  byteSamples.sort((a, b) => a - b);
  const bytes = byteSamples[Math.floor(byteSamples.length / 2)] ?? Number.NaN;
  return { metric, cpuMicros: (cpu.user + cpu.system) / count, bytes, ops: count };
}

async function setup(
  listen = true,
): Promise<{ service: UpdateService; ids: number[]; owners: string[] }> {
  const service = new UpdateService({ store: new MemoryUpdateStore(), maxHistory: 16 });
  if (listen) service.onEvent(() => {});
  const module = await service.createSoftwareModule({ type: 'os', name: 'linux', version: '1' });
  const set = await service.createDistributionSet({
    name: 'os',
    version: '1.0',
    modules: [module.id],
  });
  const ids: number[] = [];
  const owners: string[] = [];
  for (let t = 0; t < TARGETS; t++) {
    const controllerId = `dev-${t}`;
    await service.createTarget({ controllerId });
    const { actions } = await service.assign(set.id, [{ controllerId }]);
    const id = actions[0]!.id;
    await service.setActionRef(id, 'corr', `c-${t}`);
    ids.push(id);
    owners.push(controllerId);
  }
  return { service, ids, owners };
}

const PROGRESS: ReadonlyArray<Omit<ActionEvent, 'at'>> = [
  { type: 'action.download' },
  { type: 'action.proceeding' },
];

type Service = UpdateService & {
  findActionIdByRef?: (k: string, v: string) => Promise<{ id: number } | undefined>;
};

async function round(results: Map<string, Figure[]>): Promise<void> {
  const { service, ids, owners } = await setup();
  const s = service as Service;
  const add = (f: Figure) => {
    const list = results.get(f.metric) ?? [];
    list.push(f);
    results.set(f.metric, list);
  };
  let at = Date.now();
  const n = ids.length * 4;
  add(await measure('baseline: empty async call', n, async () => {}));
  add(
    await measure('apply, report leaves the action open', n, (i) =>
      service.apply(ids[i % ids.length]!, {
        ...PROGRESS[i % 2]!,
        at: ++at,
        messages: ['progress'],
      } as ActionEvent),
    ),
  );
  add(
    await measure('apply with { controllerId }, open', n, (i) =>
      (
        service.apply as (
          id: number,
          e: ActionEvent,
          o?: { controllerId: string },
        ) => Promise<unknown>
      )(
        ids[i % ids.length]!,
        { ...PROGRESS[i % 2]!, at: ++at, messages: ['progress'] } as ActionEvent,
        { controllerId: owners[i % ids.length]! },
      ),
    ),
  );
  add(
    await measure('findActionByRef (view)', n, (i) =>
      service.findActionByRef('corr', `c-${i % ids.length}`),
    ),
  );
  if (s.findActionIdByRef) {
    const find = s.findActionIdByRef.bind(s);
    add(
      await measure('findActionIdByRef (id only)', n, (i) => find('corr', `c-${i % ids.length}`)),
    );
  }
  add(
    await measure('mapDdiFeedback', n, (i) =>
      mapDdiFeedback('deployment', {
        execution: i % 2 ? 'proceeding' : 'download',
        finished: 'none',
        at: i,
        messages: ['m'],
      }),
    ),
  );
  const lock = new KeyedLock();
  add(await measure('KeyedLock.run, idle key', n, (i) => lock.run(owners[i % 64]!, async () => i)));
  add(
    await measure('apply, report closes the action', ids.length, (i) =>
      service.apply(ids[i]!, { type: 'action.finished', result: 'success', at: ++at }),
    ),
  );
  // As a receiver runs when nothing subscribes to domain events (huawei-webhook's bench).
  const quiet = await setup(false);
  add(
    await measure('apply, open, no listener', n, (i) =>
      quiet.service.apply(quiet.ids[i % quiet.ids.length]!, {
        ...PROGRESS[i % 2]!,
        at: ++at,
        messages: ['progress'],
      } as ActionEvent),
    ),
  );
  add(
    await measure('apply, closes, no listener', quiet.ids.length, (i) =>
      quiet.service.apply(quiet.ids[i]!, { type: 'action.finished', result: 'success', at: ++at }),
    ),
  );
}

async function main(): Promise<void> {
  const results = new Map<string, Figure[]>();
  for (let r = 0; r < ROUNDS; r++) {
    await round(results);
    progress(`round ${r + 1}/${ROUNDS} done`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const figures = [...results].map(([metric, list]) => ({
    metric,
    cpuMicros: Number(median(list.map((f) => f.cpuMicros)).toFixed(3)),
    bytes: Math.round(median(list.map((f) => f.bytes))),
  }));
  const width = Math.max(...figures.map((f) => f.metric.length));
  process.stdout.write(`\n${'metric'.padEnd(width)}  CPU µs/op  bytes/op\n`);
  for (const f of figures) {
    process.stdout.write(
      `${f.metric.padEnd(width)}  ${f.cpuMicros.toFixed(3).padStart(9)}  ${String(f.bytes).padStart(8)}\n`,
    );
  }
  const baseline = figures[0]!.cpuMicros;
  writeFileSync(
    new URL('./apply-result.json', import.meta.url),
    `${JSON.stringify(
      {
        name: '@otaflow/core per-report path',
        date: new Date().toISOString(),
        machine: {
          cores: availableParallelism(),
          memoryGiB: Math.round(totalmem() / 2 ** 30),
          node: process.version,
        },
        figures: figures.flatMap((f) => [
          {
            metric: `${f.metric}: CPU`,
            value: f.cpuMicros,
            unit: 'µs/op',
            baseline,
            ratio: Number((baseline / f.cpuMicros).toFixed(3)),
            goal: null,
          },
          {
            metric: `${f.metric}: allocated`,
            value: f.bytes,
            unit: 'bytes/op',
            baseline: figures[0]!.bytes,
            ratio: null,
            goal: null,
          },
        ]),
      },
      null,
      2,
    )}\n`,
  );
}

await main();
