/**
 * lastOperation reports ingested per second by the Commander from 1,000 simulated devices through
 * Mosquitto, as a ratio to raw mqtt.js publish/subscribe of the same payloads in the same run.
 *
 * Fairness: the devices live in a child process (bench/publishers.ts) and publish the same bytes
 * in the same pattern for both sides; both subscribers use the same client options, the same
 * filters (`commanderFilters`) and QoS 1; each side's clock runs from the signal to publish until
 * its last *processed* report; rounds alternate which side goes first; medians are reported. CPU
 * µs per report is this process's `process.cpuUsage()` over the same interval: noise from other
 * load on the machine moves it far less than it moves wall-clock rates.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { MemoryUpdateStore, UpdateService } from '@otaflow/core';
import mqtt from 'mqtt';
import {
  CORRELATION_REF,
  commanderFilters,
  createCommander,
  DEFAULT_FEATURE_ID,
  FEATURE_ID_ATTRIBUTE,
} from '../src/index.js';
import { OwnBroker } from '../test/helpers.js';
import { correlationOf, type FromPublishers, SEQUENCE, type ToPublishers } from './reports.js';

const DEVICES = 1000;
const ROUNDS = 7;
const TOTAL = DEVICES * SEQUENCE.length;
const GOAL = 0.7;

const log = (line: string) => console.log(`[bench] ${line}`);
/** Same length for both sides, so topics and payloads have the same number of bytes. */
const tenantName = (side: 'raw' | 'cmd') => `${side}-${randomUUID().slice(0, 8)}`;

class Publishers {
  readonly #child: ChildProcess;
  #waiting: ((m: FromPublishers) => void) | undefined;
  constructor() {
    this.#child = fork(new URL('./publishers.ts', import.meta.url), {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, OTAFLOW_BENCH_PUBLISHERS: '1' },
    });
    this.#child.on('message', (m: FromPublishers) => this.#waiting?.(m));
  }
  send(message: ToPublishers): void {
    this.#child.send(message);
  }
  async ask<T extends FromPublishers['type']>(
    message: ToPublishers,
    reply: T,
  ): Promise<Extract<FromPublishers, { type: T }>> {
    const answer = new Promise<FromPublishers>((resolve) => {
      this.#waiting = resolve;
    });
    this.send(message);
    const m = await answer;
    if (m.type === 'error') throw new Error(`publishers: ${m.message}`);
    if (m.type !== reply) throw new Error(`publishers answered ${m.type}, expected ${reply}`);
    return m as Extract<FromPublishers, { type: T }>;
  }
  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.send({ type: 'stop' });
    await exited;
  }
}

interface Measured {
  rate: number;
  cpuUsPerReport: number;
}

/** Tells the devices to publish; `last` resolves with the clock and CPU at the last processed report. */
async function measure(
  publishers: Publishers,
  last: Promise<{ at: number; cpu: NodeJS.CpuUsage }>,
): Promise<Measured> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const published = publishers.ask({ type: 'go' }, 'published');
  const end = await Promise.race([
    last,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no last report in 120 s')), 120_000).unref(),
    ),
  ]);
  await published;
  const used = end.cpu.user + end.cpu.system - cpu0.user - cpu0.system;
  return { rate: TOTAL / ((end.at - t0) / 1000), cpuUsPerReport: used / TOTAL };
}

function lastOf(count: () => number): {
  tick: () => void;
  last: Promise<{ at: number; cpu: NodeJS.CpuUsage }>;
} {
  let resolve: (v: { at: number; cpu: NodeJS.CpuUsage }) => void = () => {};
  const last = new Promise<{ at: number; cpu: NodeJS.CpuUsage }>((r) => {
    resolve = r;
  });
  return {
    tick: () => {
      if (count() === TOTAL) resolve({ at: performance.now(), cpu: process.cpuUsage() });
    },
    last,
  };
}

/** The client options the Commander uses for its own connection. */
const subscriberOptions = (clientId: string) => ({
  clientId,
  clean: false,
  resubscribe: false,
  reconnectPeriod: 1000,
  protocolVersion: 5 as const,
  properties: { receiveMaximum: 65535, sessionExpiryInterval: 3600 },
});

async function rawRun(url: string, publishers: Publishers): Promise<Measured> {
  const tenant = tenantName('raw');
  await publishers.ask({ type: 'prepare', tenant }, 'prepared');
  const sub = await mqtt.connectAsync(url, subscriberOptions(`bench-raw-${tenant}`));
  let received = 0;
  const done = lastOf(() => received);
  sub.on('message', () => {
    received++;
    done.tick();
  });
  await sub.subscribeAsync(commanderFilters(tenant), { qos: 1 });
  const m = await measure(publishers, done.last);
  await sub.endAsync();
  return m;
}

async function commanderRun(url: string, publishers: Publishers, ids: string[]): Promise<Measured> {
  const tenant = tenantName('cmd');
  const service = new UpdateService({ store: new MemoryUpdateStore() });
  const module = await service.createSoftwareModule({
    type: 'application',
    name: 'app',
    version: '1.0.0',
  });
  const set = await service.createDistributionSet({
    name: 'set',
    version: '1',
    modules: [module.id],
  });
  // Each device as if it had announced its SoftwareUpdatable feature: only then do its reports count.
  for (const id of ids) {
    await service.createTarget({ controllerId: id });
    await service.updateAttributes(id, { [FEATURE_ID_ATTRIBUTE]: DEFAULT_FEATURE_ID });
  }
  const { actions } = await service.assign(
    set.id,
    ids.map((controllerId) => ({ controllerId })),
  );
  for (const [i, action] of actions.entries())
    await service.setActionRef(action.id, CORRELATION_REF, correlationOf(tenant, i));
  await publishers.ask({ type: 'prepare', tenant }, 'prepared');
  const commander = createCommander({
    url,
    service,
    tenant,
    artifactUrl: () => 'http://127.0.0.1/unused',
    clientId: `bench-cmd-${tenant}`,
  });
  let ingested = 0;
  const done = lastOf(() => ingested);
  commander.onReport(() => {
    ingested++;
    done.tick();
  });
  await commander.start();
  const m = await measure(publishers, done.last);
  const applied = commander.stats.applied;
  await commander.stop();
  if (applied !== TOTAL) throw new Error(`expected ${TOTAL} applied, got ${applied}`);
  for (const id of [ids[0], ids[ids.length - 1]]) {
    const target = await service.getTarget(id as string);
    if (target?.updateStatus !== 'IN_SYNC')
      throw new Error(`expected ${id} IN_SYNC, got ${target?.updateStatus}`);
  }
  return m;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} on ${cpus().length} cores`,
);
const broker = await OwnBroker.create();
const publishers = new Publishers();
const ids = Array.from({ length: DEVICES }, (_, i) => `bench-dev-${i}`);
const raw: Measured[] = [];
const cmd: Measured[] = [];
try {
  log(`mosquitto on ${broker.url}; connecting ${DEVICES} devices in a child process`);
  await publishers.ask({ type: 'connect', url: broker.url, ids }, 'connected');
  const { bytes } = await publishers.ask(
    { type: 'prepare', tenant: tenantName('raw') },
    'prepared',
  );
  log(`${SEQUENCE.length} reports per device, ${TOTAL} per run, ${bytes} payload bytes per run`);
  log('warm-up (both sides, not counted)');
  await rawRun(broker.url, publishers);
  await commanderRun(broker.url, publishers, ids);
  for (let r = 1; r <= ROUNDS; r++) {
    // Alternate which side goes first, so drift in machine load hits both alike.
    const order = r % 2 ? (['raw', 'cmd'] as const) : (['cmd', 'raw'] as const);
    for (const side of order) {
      const m =
        side === 'raw'
          ? await rawRun(broker.url, publishers)
          : await commanderRun(broker.url, publishers, ids);
      (side === 'raw' ? raw : cmd).push(m);
      log(
        `round ${r}: ${side === 'raw' ? 'raw mqtt.js' : 'commander  '} ${m.rate.toFixed(0).padStart(6)} reports/s, ${m.cpuUsPerReport.toFixed(1)} CPU µs/report`,
      );
    }
    log(
      `round ${r}: ratio ${((cmd[r - 1] as Measured).rate / (raw[r - 1] as Measured).rate).toFixed(3)}`,
    );
  }
} finally {
  await publishers.stop();
  await broker.stop();
}

const rate = median(cmd.map((m) => m.rate));
const baseline = median(raw.map((m) => m.rate));
const ratio = rate / baseline;
const pairedRatio = median(cmd.map((m, i) => m.rate / (raw[i] as Measured).rate));
const cpuCmd = median(cmd.map((m) => m.cpuUsPerReport));
const cpuRaw = median(raw.map((m) => m.cpuUsPerReport));
console.log('\n| metric | value | baseline (raw mqtt.js) | ratio | goal |');
console.log('|---|---|---|---|---|');
console.log(
  `| lastOperation reports ingested/s, ${DEVICES} devices (median of ${ROUNDS}) | ${rate.toFixed(0)} | ${baseline.toFixed(0)} | ${ratio.toFixed(3)} (paired median ${pairedRatio.toFixed(3)}) | ${GOAL} |`,
);
console.log(
  `| subscriber CPU µs per report (median of ${ROUNDS}) | ${cpuCmd.toFixed(1)} | ${cpuRaw.toFixed(1)} | ${(cpuRaw / cpuCmd).toFixed(3)} | - |`,
);
const result = {
  name: '@otaflow/iothub-mqtt',
  date: new Date().toISOString(),
  machine: {
    cores: cpus().length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    // One number: biome would fold an array of numbers onto one line, unlike JSON.stringify.
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
  },
  figures: [
    {
      metric: `lastOperation reports ingested per second by the Commander (${DEVICES} devices in a child process, ${TOTAL} reports per run, QoS 1, median of ${ROUNDS} interleaved rounds)`,
      value: Math.round(rate),
      unit: 'reports/s',
      baseline: Math.round(baseline),
      ratio: round(ratio, 3),
      goal: GOAL,
    },
    {
      metric: `median of the per-round ratios (commander / raw mqtt.js), ${ROUNDS} rounds`,
      value: round(pairedRatio, 3),
      unit: 'ratio',
      baseline: 1,
      ratio: round(pairedRatio, 3),
      goal: GOAL,
    },
    {
      metric:
        'subscriber process CPU µs per report (user+system, first publish to last processed report; ratio = raw / commander)',
      value: round(cpuCmd, 2),
      unit: 'µs/report',
      baseline: round(cpuRaw, 2),
      ratio: round(cpuRaw / cpuCmd, 3),
      goal: null,
    },
  ],
  rounds: raw.map((r, i) => ({
    raw: Math.round(r.rate),
    commander: Math.round((cmd[i] as Measured).rate),
    rawCpuUs: round(r.cpuUsPerReport, 2),
    commanderCpuUs: round((cmd[i] as Measured).cpuUsPerReport, 2),
  })),
};
writeFileSync(new URL('./result.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
log('wrote bench/result.json');
