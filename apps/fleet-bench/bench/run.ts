// `pnpm bench`: the fleet benchmark (see README). Scale with FLEET_DDI / FLEET_MQTT, profile the
// backend with FLEET_CPU_PROF=1 (or --cpu-prof); writes bench/result.json for the root BENCHMARKS.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags } from '@otaflow/cli';
import postgres from 'postgres';
import {
  type FleetResult,
  type FleetStore,
  runFleet,
  runTwoBackendFleet,
  type TwoBackendResult,
} from '../src/index.js';

const BENCH_CLI = {
  name: 'fleet-bench',
  summary:
    'one backend, a DDI fleet and an MQTT fleet, one update, SIE on; figures vs raw baselines',
  flags: {
    ddi: {
      type: 'number',
      env: 'FLEET_DDI',
      default: 10_000,
      description: 'simulated DDI devices',
    },
    mqtt: {
      type: 'number',
      env: 'FLEET_MQTT',
      default: 2_000,
      description: 'SoftwareUpdatable agents over MQTT',
    },
    pollSeconds: {
      type: 'number',
      env: 'FLEET_POLL_SECONDS',
      default: 5,
      description: 'DDI polling interval (s)',
    },
    artifactBytes: {
      type: 'number',
      env: 'FLEET_ARTIFACT_BYTES',
      default: 4096,
      description: 'artifact size',
    },
    timeout: {
      type: 'number',
      env: 'FLEET_TIMEOUT',
      default: 300,
      description: 'give the update this long (s)',
    },
    measureSeconds: {
      type: 'number',
      env: 'FLEET_MEASURE_SECONDS',
      default: 10,
      description: 'steady-poll window and max-throughput run, each (s); 0 skips them',
    },
    blastConnections: {
      type: 'number',
      env: 'FLEET_BLAST_CONNECTIONS',
      default: 32,
      description: 'keep-alive connections of the max-throughput run',
    },
    rawMessages: {
      type: 'number',
      env: 'FLEET_RAW_MESSAGES',
      default: 20_000,
      description: 'messages of the raw mqtt.js / amqplib baselines; 0 skips them',
    },
    mqttUrl: {
      type: 'string',
      env: 'MQTT_URL',
      default: 'mqtt://127.0.0.1:1883',
      description: 'Mosquitto',
    },
    amqpUrl: {
      type: 'string',
      env: 'AMQP_URL',
      default: 'amqp://guest:guest@127.0.0.1:5672',
      description: 'RabbitMQ',
    },
    stores: {
      type: 'string',
      env: 'FLEET_STORES',
      default: 'memory,pglite,postgres',
      description:
        'stores to run the update on, comma-separated (memory first: the baseline; pglite, postgres)',
    },
    databaseUrl: {
      type: 'string',
      env: 'FLEET_DATABASE_URL',
      default: 'postgres://postgres@127.0.0.1:5432/postgres',
      description: 'PostgreSQL server for the postgres run (a scratch database is created there)',
    },
    backends: {
      type: 'number',
      env: 'FLEET_BACKENDS',
      default: 1,
      description:
        '2: two backends on one PostgreSQL database (DDI halves, MQTT shared), figures per backend, into bench/two-backends-result.json',
    },
    cpuProf: {
      type: 'boolean',
      env: 'FLEET_CPU_PROF',
      description: 'run the backend under node --cpu-prof',
    },
  },
} as const;

const parsed = parseFlags(BENCH_CLI);
if (parsed.help) {
  process.stdout.write(parsed.text);
  process.exit(0);
}
const f = parsed.values;
const here = fileURLToPath(new URL('.', import.meta.url));
const profDir = join(here, 'profiles');
if (f.cpuProf) mkdirSync(profDir, { recursive: true });
const started = Date.now();
const say = (line: string) =>
  process.stdout.write(`[fleet-bench +${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);
say(
  `fleet: ${f.ddi} DDI + ${f.mqtt} MQTT devices, polling every ${f.pollSeconds} s, ${f.artifactBytes} B artifact`,
);

const stores = f.stores
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
if (stores[0] !== 'memory') throw new Error('FLEET_STORES must start with memory, the baseline');

/** A scratch database on the server for one run; dropped afterwards. */
async function withScratchDatabase<T>(work: (url: string) => Promise<T>): Promise<T> {
  const admin = postgres(f.databaseUrl, { max: 1, onnotice: () => {} });
  const name = `fleet_bench_${Date.now().toString(36)}`;
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(f.databaseUrl);
    url.pathname = `/${name}`;
    return await work(url.toString());
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}

if (f.backends === 2) {
  const r: TwoBackendResult = await withScratchDatabase((databaseUrl) =>
    runTwoBackendFleet({
      ddi: f.ddi,
      mqtt: f.mqtt,
      pollSeconds: f.pollSeconds,
      artifactBytes: f.artifactBytes,
      mqttUrl: f.mqttUrl,
      amqpUrl: f.amqpUrl,
      databaseUrl,
      updateTimeoutMs: f.timeout * 1000,
      log: (line) => say(`[two backends] ${line}`),
    }),
  );
  const missing = Object.values(r.sie.check.missing).reduce((a, b) => a + b, 0);
  const figures = [
    {
      metric: 'targets IN_SYNC after the update',
      value: r.inSync,
      unit: 'targets',
      baseline: r.targets,
      ratio: r.inSync / r.targets,
      goal: 1,
    },
    {
      metric: 'updates lost',
      value: r.lost,
      unit: 'targets',
      baseline: null,
      ratio: null,
      goal: 0,
      goalBelow: true,
    },
    {
      metric: 'assignment -> every target IN_SYNC',
      value: r.updateSeconds,
      unit: 's',
      baseline: null,
      ratio: null,
      goal: null,
    },
    {
      metric: 'reports applied (DDI feedback + MQTT lastOperation), both backends',
      value: r.reportsPerSecond,
      unit: 'reports/s',
      baseline: null,
      ratio: null,
      goal: null,
    },
    {
      metric: 'SIE events delivered, both backends',
      value: r.sie.perSecond,
      unit: 'events/s',
      baseline: null,
      ratio: null,
      goal: null,
    },
    {
      metric: 'SIE events of the update missing',
      value: missing,
      unit: 'events',
      baseline: null,
      ratio: null,
      goal: 0,
      goalBelow: true,
    },
    ...r.backends.flatMap((b) => [
      {
        metric: `backend ${b.name} (${b.ddiDevices} DDI devices): DDI requests handled during the update`,
        value: b.requestsPerSecond,
        unit: 'req/s',
        baseline: null,
        ratio: null,
        goal: null,
      },
      {
        metric: `backend ${b.name}: poll p50 / p99 during the update`,
        value: b.poll.p99,
        unit: 'ms (p99)',
        baseline: b.poll.p50,
        ratio: null,
        goal: null,
      },
      {
        metric: `backend ${b.name}: feedback p99 during the update`,
        value: b.feedback.p99,
        unit: 'ms',
        baseline: null,
        ratio: null,
        goal: null,
      },
      {
        metric: `backend ${b.name}: peak RSS (VmHWM)`,
        value: b.peakRssBytes / 2 ** 20,
        unit: 'MiB',
        baseline: null,
        ratio: null,
        goal: 1024,
        goalBelow: true,
      },
      {
        metric: `backend ${b.name}: CPU during the update`,
        value: b.cpuSecondsUpdate,
        unit: 's',
        baseline: null,
        ratio: null,
        goal: null,
      },
    ]),
  ];
  for (const x of figures) say(`${x.metric}: ${Number(x.value.toPrecision(4))} ${x.unit}`);
  say(`errors: ddi ${r.errors.ddi}, mqtt ${r.errors.mqtt} ${r.errors.lastErrors.join(' | ')}`);
  writeFileSync(
    join(here, 'two-backends-result.json'),
    `${JSON.stringify(
      {
        name: `fleet on two backends: ${f.ddi.toLocaleString('en-US')} DDI + ${f.mqtt.toLocaleString('en-US')} MQTT devices, one update, one PostgreSQL database (apps/fleet-bench, FLEET_BACKENDS=2)`,
        date: new Date().toISOString(),
        machine: {
          cores: cpus().length,
          memoryGiB: Math.round(totalmem() / 2 ** 30),
          node: process.version,
        },
        note: 'The baseline column of the poll row is its p50. Both backends, PostgreSQL, Mosquitto, RabbitMQ and the simulators share the machine.',
        figures,
        details: r,
      },
      null,
      2,
    )}\n`,
  );
  say(`wrote bench/two-backends-result.json in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.exit(0);
}

const runOn = (store: FleetStore, full: boolean) =>
  runFleet({
    ddi: f.ddi,
    mqtt: f.mqtt,
    pollSeconds: f.pollSeconds,
    artifactBytes: f.artifactBytes,
    mqttUrl: f.mqttUrl,
    amqpUrl: f.amqpUrl,
    updateTimeoutMs: f.timeout * 1000,
    // The raw ceilings and the throughput runs once, on the baseline; the durable stores are
    // compared with it on the update itself.
    measureSeconds: full ? f.measureSeconds : 0,
    blastConnections: f.blastConnections,
    rawMessages: full ? f.rawMessages : 0,
    ...(f.cpuProf && full ? { cpuProfDir: profDir } : {}),
    store,
    log: (line) => say(`[${store.kind}] ${line}`),
  });

const r = await runOn({ kind: 'memory' }, true);
const durable: { kind: string; result: FleetResult }[] = [];
for (const kind of stores.slice(1)) {
  if (kind === 'pglite') durable.push({ kind, result: await runOn({ kind: 'pglite' }, false) });
  else if (kind === 'postgres')
    durable.push({
      kind,
      result: await withScratchDatabase((url) => runOn({ kind: 'postgres', url }, false)),
    });
  else throw new Error(`unknown store ${kind}`);
}

interface Figure {
  metric: string;
  value: number;
  unit: string;
  baseline: number | null;
  ratio: number | null;
  goal: number | null;
  goalBelow?: boolean;
  /** The goal is a ceiling for the ratio (a time against the baseline's). */
  ratioBelow?: boolean;
}
const figures: Figure[] = [];
const add = (metric: string, value: number, unit: string, extra: Partial<Figure> = {}) =>
  figures.push({ metric, value, unit, baseline: null, ratio: null, goal: null, ...extra });
const vs = (value: number, baseline: number | undefined) =>
  baseline ? { baseline, ratio: value / baseline } : {};

add('targets IN_SYNC after the update', r.completed.inSync, 'targets', {
  baseline: r.targets,
  ratio: r.completed.inSync / r.targets,
  goal: 1,
});
add('updates lost', r.lost, 'targets', { goal: 0, goalBelow: true });
add('assignment -> every target IN_SYNC', r.updateSeconds, 's');
add(
  'DDI requests handled during the update',
  r.requestsPerSecond,
  'req/s',
  vs(r.requestsPerSecond, r.blast?.bare.perSecond),
);
add(
  'reports applied (DDI feedback + MQTT lastOperation)',
  r.reportsPerSecond,
  'reports/s',
  vs(r.reportsPerSecond, r.raw?.mqttPerSecond),
);
add('SIE events delivered', r.sie.perSecond, 'events/s', vs(r.sie.perSecond, r.raw?.amqpPerSecond));
const sieMissing = Object.values(r.sie.check.missing).reduce((a, b) => a + b, 0);
add('SIE events of the update missing', sieMissing, 'events', { goal: 0, goalBelow: true });
add('backend peak RSS (VmHWM)', r.backend.peakRssBytes / 2 ** 20, 'MiB', {
  goal: 1024,
  goalBelow: true,
});
add('backend memory per target (peak - at ready)', r.backend.bytesPerTarget, 'bytes');
add('backend CPU per completed update', r.backend.cpuSecondsPerUpdate * 1000, 'ms');
const steadyPoll = r.steady?.bare.latency.poll;
add(
  'poll p50 during the update',
  r.latency.poll.p50,
  'ms',
  steadyPoll ? { baseline: steadyPoll.p50, ratio: steadyPoll.p50 / r.latency.poll.p50 } : {},
);
add(
  'poll p99 during the update',
  r.latency.poll.p99,
  'ms',
  steadyPoll ? { baseline: steadyPoll.p99, ratio: steadyPoll.p99 / r.latency.poll.p99 } : {},
);
if (r.backend.eventLoopDelay) {
  add('backend event-loop delay p99 during the update', r.backend.eventLoopDelay.p99Ms, 'ms', {
    goal: 100,
    goalBelow: true,
  });
  add('backend event-loop delay max during the update', r.backend.eventLoopDelay.maxMs, 'ms');
}
add('feedback p50 during the update', r.latency.feedback.p50, 'ms');
add('feedback p99 during the update', r.latency.feedback.p99, 'ms');
if (r.steady) {
  const b = r.steady.backend.requests / r.steady.backend.seconds;
  const c = r.steady.bare.requests / r.steady.bare.seconds;
  add(
    `polls handled at the fleet's offered load (${r.steady.offeredPerSecond.toFixed(0)}/s)`,
    b,
    'polls/s',
    { ...vs(b, c), goal: 0.5 },
  );
  add('poll p99 at that load, idle fleet', r.steady.backend.latency.poll?.p99 ?? 0, 'ms', {
    baseline: r.steady.bare.latency.poll?.p99 ?? null,
  });
}
if (r.blast) {
  add(
    `max poll throughput (${f.blastConnections} keep-alive connections, median of ${r.blast.rounds.backend.length} interleaved rounds)`,
    r.blast.backend.perSecond,
    'polls/s',
    {
      ...vs(r.blast.backend.perSecond, r.blast.bare.perSecond),
      goal: 0.5,
    },
  );
  // CPU per poll hardly moves with what else runs on the machine; the ratio is bare / backend,
  // i.e. the share of the bare server's speed the backend would reach on a core of its own.
  const medCpu = (xs: { cpuUsPerPoll: number }[]) =>
    [...xs.map((x) => x.cpuUsPerPoll)].sort((a, b) => a - b)[(xs.length - 1) >> 1] ?? 0;
  const cpuBackend = medCpu(r.blast.rounds.backend);
  const cpuBare = medCpu(r.blast.rounds.bare);
  add('server CPU per poll at max throughput (median round)', cpuBackend, 'µs', {
    baseline: cpuBare,
    ratio: cpuBackend ? cpuBare / cpuBackend : null,
    // Diagnostic: the issue's goal is on polls handled (above); this says what a core of its own
    // would give the backend, steadier than throughput on a shared machine.
    goal: null,
  });
}

// The durable stores against the memory store of the same run (issue: <= 1.5x its time).
for (const { kind, result: d } of durable) {
  const tag = `[${kind === 'pglite' ? 'PGlite' : 'PostgreSQL'}]`;
  add(`${tag} targets IN_SYNC after the update`, d.completed.inSync, 'targets', {
    baseline: d.targets,
    ratio: d.completed.inSync / d.targets,
    goal: 1,
  });
  add(`${tag} updates lost`, d.lost, 'targets', { goal: 0, goalBelow: true });
  add(`${tag} assignment -> every target IN_SYNC, vs memory`, d.updateSeconds, 's', {
    baseline: r.updateSeconds,
    ratio: d.updateSeconds / r.updateSeconds,
    goal: 1.5,
    ratioBelow: true,
  });
  add(`${tag} backend peak RSS (VmHWM)`, d.backend.peakRssBytes / 2 ** 20, 'MiB', {
    baseline: r.backend.peakRssBytes / 2 ** 20,
    goal: 1024,
    goalBelow: true,
  });
  add(`${tag} backend CPU per completed update`, d.backend.cpuSecondsPerUpdate * 1000, 'ms', {
    baseline: r.backend.cpuSecondsPerUpdate * 1000,
    ratio: d.backend.cpuSecondsPerUpdate / r.backend.cpuSecondsPerUpdate,
  });
  add(`${tag} poll p99 during the update`, d.latency.poll.p99, 'ms', {
    baseline: r.latency.poll.p99,
  });
  if (d.backend.eventLoopDelay)
    add(
      `${tag} backend event-loop delay p99 during the update`,
      d.backend.eventLoopDelay.p99Ms,
      'ms',
      {
        baseline: r.backend.eventLoopDelay?.p99Ms ?? null,
        goal: 100,
        goalBelow: true,
      },
    );
  const missing = Object.values(d.sie.check.missing).reduce((a, b) => a + b, 0);
  add(`${tag} SIE events of the update missing`, missing, 'events', { goal: 0, goalBelow: true });
}

const fmt = (n: number | null | undefined) =>
  n === null || n === undefined
    ? ''
    : Math.abs(n) >= 100
      ? Math.round(n).toLocaleString('en-US')
      : Number(n.toPrecision(3)).toString();
const rows = figures.map((x) => {
  const met =
    x.goal === null
      ? ''
      : (
            x.goalBelow
              ? x.value <= x.goal
              : x.ratioBelow
                ? (x.ratio ?? Number.POSITIVE_INFINITY) <= x.goal
                : (x.ratio ?? x.value) >= x.goal
          )
        ? 'yes'
        : 'NO';
  return [x.metric, fmt(x.value), x.unit, fmt(x.baseline), fmt(x.ratio), fmt(x.goal), met];
});
const head = ['metric', 'value', 'unit', 'baseline', 'ratio', 'goal', 'met'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
const line = (cells: string[]) =>
  cells
    .map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
    .join('  ');
console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
for (const row of rows) console.log(line(row));
console.log(
  `\nSIE by topic: ${JSON.stringify(r.sie.byTopic)}; missing per kind: ${JSON.stringify(r.sie.check.missing)}`,
);
console.log(
  `errors: ddi ${r.errors.ddi}, mqtt ${r.errors.mqtt}${r.errors.lastErrors.length ? `; last: ${r.errors.lastErrors.slice(0, 3).join(' | ')}` : ''}`,
);
if (r.errors.backendProblems.length)
  console.log(`backend warnings (last): ${r.errors.backendProblems.slice(-3).join('\n')}`);
if (r.profile) {
  console.log(
    `\nbackend CPU profile ${r.profile.file} (${(r.profile.totalMs / 1000).toFixed(1)} s sampled), top self time:`,
  );
  for (const e of r.profile.top)
    console.log(
      `  ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(6)} ms  ${e.functionName}  ${e.url}:${e.line}`,
    );
}

writeFileSync(
  join(here, 'result.json'),
  `${JSON.stringify(
    {
      name: `fleet: ${f.ddi.toLocaleString('en-US')} DDI + ${f.mqtt.toLocaleString('en-US')} MQTT devices, one update (apps/fleet-bench)`,
      date: new Date().toISOString(),
      machine: {
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      figures,
      details: r,
    },
    null,
    2,
  )}\n`,
);
say(`wrote bench/result.json in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(0);
