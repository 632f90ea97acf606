import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { LoadClient } from '@otaflow/bench-kit';
import { ACTIONS, type BenchCommand, type BenchReply } from './protocol.js';

/**
 * Notifications per second through the receiver (validate, match, map, apply, answer) against a
 * bare node:http handler that parses the same JSON and answers 200. Both servers run side by side
 * in one child process (bench/servers.ts) so its `process.cpuUsage()` is server work only; this
 * process is the client for both (@otaflow/bench-kit's raw LoadClient): same bodies, same number of keep-alive
 * connections, kept open across drives. Rounds are interleaved and alternate which side goes
 * first; the figures are medians. Each round has actions of its own, all created before the
 * first drive, so every first push is applied and nothing is created between drives.
 *
 * No forced collection before a measured drive: `gc()` also threw away the optimized code of node's HTTP
 * stack and the receiver, so every drive paid for recompiling ~50 functions on V8's background
 * threads (a third of the server's CPU in a profile) — a cost no running server has.
 */
const CONCURRENCY = 16;
const ROUNDS = 7;
const STEPS = ['downloading', 'downloaded', 'updating'] as const;

function bodiesFor(prefix: string, index: number): string[] {
  const ids = {
    deviceId: `${prefix}-d${index}`,
    appId: 'bench',
    operationId: `${prefix}-op${index}`,
    subOperationId: `${prefix}-sub${index}`,
  };
  return [
    ...STEPS.map((swUpgradeState) =>
      JSON.stringify({ notifyType: 'swUpgradeStateChangeNotify', ...ids, swUpgradeState }),
    ),
    JSON.stringify({
      notifyType: 'swUpgradeResultNotify',
      ...ids,
      curVersion: '2.0',
      targetVersion: '2.0',
      sourceVersion: '1.0',
      swUpgradeResult: 'SUCCESS',
      upgradeTime: '12',
      resultDesc: 'ok',
      errorCode: '0',
      description: '',
    }),
  ];
}

function bodiesOf(prefix: string): string[][] {
  return Array.from({ length: ACTIONS }, (_, i) => bodiesFor(prefix, i));
}

const child = fork(new URL('./servers.ts', import.meta.url), {
  // BENCH_SERVER_ARGS adds node flags to the server process, e.g. `--cpu-prof --cpu-prof-dir=...`.
  execArgv: [
    '--import',
    'tsx',
    '--conditions=@otaflow/source',
    '--expose-gc',
    ...(process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? []),
  ],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const waiting = new Map<number, (reply: BenchReply) => void>();
let ready: (reply: BenchReply) => void = () => {};
const started = new Promise<BenchReply>((resolve) => {
  ready = resolve;
});
child.on('message', (reply: BenchReply) => {
  if (reply.id === 0) return ready(reply);
  waiting.get(reply.id)?.(reply);
  waiting.delete(reply.id);
});
child.on('exit', (code) => {
  if (waiting.size > 0) fail(new Error(`bench servers exited (${code}) while asked`));
});
/** A failed run must end: the server process and the open connections would keep it alive. */
function fail(error: unknown): never {
  console.error(error);
  child.kill();
  process.exit(1);
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
let lastId = 0;
function ask(request: BenchCommand): Promise<BenchReply> {
  const id = ++lastId;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    child.send({ ...request, id });
  });
}

interface Run {
  rate: number;
  /** Server process CPU (user + system) per notification. */
  serverCpu: number;
  /** This (client) process's CPU per notification. */
  clientCpu: number;
}

/** One measured drive, with both processes' CPU bracketing it. */
/** Every action's pushes as requests to this client's server (encoded before any clock starts). */
const encode = (client: LoadClient, perAction: string[][]) =>
  perAction.map((bodies) =>
    bodies.map((body) =>
      client.request('POST', client.url.pathname, { 'content-type': 'application/json' }, body),
    ),
  );

async function measure(load: LoadClient, perAction: string[][]): Promise<Run> {
  const requests = encode(load, perAction);
  const count = perAction.length * perAction[0]!.length;
  const serverBefore = (await ask({ cmd: 'cpu' })).cpuMicros!;
  const clientBefore = process.cpuUsage();
  const rate = await load.drive(requests);
  const client = process.cpuUsage(clientBefore);
  const serverAfter = (await ask({ cmd: 'cpu' })).cpuMicros!;
  return {
    rate,
    serverCpu: (serverAfter - serverBefore) / count,
    clientCpu: (client.user + client.system) / count,
  };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const { receiverUrl, bareUrl } = await started;
if (!receiverUrl || !bareUrl) throw new Error('bench servers did not start');
const bareClient = new LoadClient(bareUrl, CONCURRENCY);
const receiverClient = new LoadClient(receiverUrl, CONCURRENCY);

console.log(
  `huawei-webhook bench: ${ACTIONS} actions x ${STEPS.length + 1} notifications, ${CONCURRENCY} connections, ${ROUNDS} rounds, load average ${os.loadavg()[0]!.toFixed(2)}`,
);
// Every round's actions exist before the first drive: a populated store, as a running receiver
// has, and nothing created or deleted between drives for the next drive to collect.
const WARM = ['warm1', 'warm2', 'warm3'];
for (const prefix of [...WARM, ...Array.from({ length: ROUNDS }, (_, i) => `r${i + 1}`)]) {
  await ask({ cmd: 'prepare', prefix });
}
const before = await ask({ cmd: 'stored' });
console.log(
  `store: ${before.stored?.targets} targets, ${before.stored?.actions} open actions, heap in use ${before.stored?.heapMiB} MiB`,
);
// One collection of what creating the store left behind, then warm-up drives of both sides. A
// collection right before a measured drive would be unfair the other way: see the note above.
await ask({ cmd: 'gc' });
for (const prefix of WARM) {
  const warm = bodiesOf(prefix);
  await bareClient.drive(encode(bareClient, warm));
  await receiverClient.drive(encode(receiverClient, warm));
  await receiverClient.drive(encode(receiverClient, warm));
}

const bareRuns: Run[] = [];
const receiverRuns: Run[] = [];
const redeliveryRuns: Run[] = [];
const show = (round: number, label: string, run: Run) =>
  console.log(
    `round ${round}: ${label.padEnd(12)} ${run.rate.toFixed(0).padStart(6)} notifications/s, server ${run.serverCpu.toFixed(1)} µs CPU each, client ${run.clientCpu.toFixed(1)} µs`,
  );
for (let round = 1; round <= ROUNDS; round++) {
  const prefix = `r${round}`;
  const fresh = bodiesOf(prefix);
  const runBare = async () => {
    bareRuns.push(await measure(bareClient, fresh));
    show(round, 'bare handler', bareRuns.at(-1)!);
  };
  // Alternating which side goes first keeps drift (load, garbage) from favouring one side.
  if (round % 2 === 1) await runBare();
  receiverRuns.push(await measure(receiverClient, fresh));
  show(round, 'receiver', receiverRuns.at(-1)!);
  // The same pushes again: all redeliveries, answered from the de-duplication memory without core.
  redeliveryRuns.push(await measure(receiverClient, fresh));
  show(round, 'redeliveries', redeliveryRuns.at(-1)!);
  if (round % 2 === 0) await runBare();
  const check = await ask({ cmd: 'check', prefix });
  if (!check.ok) throw new Error(`round ${round}: the receiver did not apply (${check.detail})`);
}
bareClient.close();
receiverClient.close();
await ask({ cmd: 'stop' });

const pick = (runs: Run[], key: keyof Run) => median(runs.map((r) => r[key]));
const baseline = pick(bareRuns, 'rate');
const bareCpu = pick(bareRuns, 'serverCpu');
const round3 = (n: number) => Number(n.toFixed(3));
/** A rate against the bare handler's: higher is better. */
const rateFigure = (metric: string, runs: Run[], goal: number | null) => ({
  metric,
  value: Math.round(pick(runs, 'rate')),
  unit: 'notifications/s',
  baseline: Math.round(baseline),
  ratio: round3(pick(runs, 'rate') / baseline),
  goal,
});
/** CPU per notification: ratio is baseline / value, so like the rates, higher is better. */
const cpuFigure = (metric: string, runs: Run[], key: 'serverCpu' | 'clientCpu', base: number) => ({
  metric,
  value: Number(pick(runs, key).toFixed(1)),
  unit: 'µs',
  baseline: Number(base.toFixed(1)),
  ratio: round3(base / pick(runs, key)),
  goal: null,
});
const figures = [
  rateFigure('receiver notifications per second', receiverRuns, 0.7),
  rateFigure('receiver redeliveries per second (no core work)', redeliveryRuns, null),
  cpuFigure('server CPU per notification, receiver', receiverRuns, 'serverCpu', bareCpu),
  cpuFigure('server CPU per notification, redeliveries', redeliveryRuns, 'serverCpu', bareCpu),
  cpuFigure(
    'client CPU per notification (receiver run)',
    receiverRuns,
    'clientCpu',
    pick(bareRuns, 'clientCpu'),
  ),
];
console.log(`\n${'metric'.padEnd(48)}    value   baseline   ratio   goal`);
for (const f of figures) {
  console.log(
    `${f.metric.padEnd(48)} ${String(f.value).padStart(8)}   ${String(f.baseline).padStart(8)}   ${f.ratio.toFixed(3)}   ${f.goal === null ? '-' : `>= ${f.goal}`}`,
  );
}
writeFileSync(
  new URL('./result.json', import.meta.url),
  `${JSON.stringify(
    {
      name: '@otaflow/huawei-webhook',
      date: new Date().toISOString(),
      machine: {
        cores: os.cpus().length,
        memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
        node: process.version,
        loadAverage: Number(os.loadavg()[0]!.toFixed(2)),
      },
      figures,
    },
    null,
    2,
  )}\n`,
);
