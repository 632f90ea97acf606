import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type ReadyApp, startReadyApp } from '@otaflow/cli';
import { rawAmqpThroughput, rawMqttThroughput } from './baselines.js';
import { FleetBenchError } from './FleetBenchError.js';
import type { LatencySummary } from './latency.js';
import { ManagementClient } from './managementClient.js';
import { type ProcStats, readProcStats } from './procStats.js';
import { type ProfileEntry, summariseCpuProfile } from './profile.js';
import type { BlastResult, SimWindow } from './protocol.js';
import { type SieCheck, startSieCounter } from './sieCounter.js';
import { APP_DIR, type SimChild, startSimChild } from './simChild.js';

export const BACKEND_MAIN = fileURLToPath(new URL('../../backend/src/main.ts', import.meta.url));

export type FleetStore =
  | { kind: 'memory' }
  | { kind: 'pglite' }
  | { kind: 'postgres'; url: string };

/** The backend's flags for a store. */
export function storeArgs(store: FleetStore = { kind: 'memory' }): string[] {
  if (store.kind === 'memory') return ['--store', 'memory'];
  // PGlite: the backend's default, under `--data-dir`.
  if (store.kind === 'pglite') return [];
  return ['--database-url', store.url];
}

export interface FleetOptions {
  ddi: number;
  mqtt: number;
  /** DDI polling interval, told to the devices by the backend (`--ddi-polling-sleep`) too. */
  pollSeconds: number;
  artifactBytes: number;
  mqttUrl: string;
  amqpUrl: string;
  /** Give up on the update after this long. */
  updateTimeoutMs: number;
  /** Measure steady polling and max poll throughput (backend and bare server) for this long; 0 = skip. */
  measureSeconds: number;
  blastConnections: number;
  /** Raw mqtt.js / amqplib ceilings; 0 = skip. */
  rawMessages: number;
  /** Pass `--cpu-prof` to the backend, writing into this directory. */
  cpuProfDir?: string;
  /**
   * Where the backend keeps its state: the memory store (the baseline, default), embedded PGlite
   * in the run's own directory, or a PostgreSQL database (`postgres://...`; the caller owns it).
   */
  store?: FleetStore;
  log: (line: string) => void;
}

export interface FleetResult {
  targets: number;
  completed: { ddi: number; mqtt: number; inSync: number };
  lost: number;
  updateSeconds: number;
  /** DDI requests the backend answered per second during the update. */
  requestsPerSecond: number;
  reportsPerSecond: number;
  sie: { messages: number; perSecond: number; byTopic: Record<string, number>; check: SieCheck };
  backend: {
    peakRssBytes: number;
    rssAtReadyBytes: number;
    bytesPerTarget: number;
    cpuSecondsUpdate: number;
    cpuSecondsPerUpdate: number;
    /**
     * The backend's event-loop delay during the update (its `/metrics`: prom-client's
     * monitorEventLoopDelay, reset at every scrape, so read once at the assignment and once at
     * the end); undefined when the backend has no such metric.
     */
    eventLoopDelay?: { p99Ms: number; maxMs: number };
  };
  latency: {
    poll: LatencySummary;
    feedback: LatencySummary;
    deploymentBase: LatencySummary;
    download: LatencySummary;
  };
  errors: { ddi: number; mqtt: number; lastErrors: string[]; backendProblems: string[] };
  steady?: { offeredPerSecond: number; backend: SimWindow; bare: SimWindow };
  /** Median of interleaved rounds (backend, bare, bare, backend, ...), with server CPU µs per poll. */
  blast?: {
    backend: BlastFigure;
    bare: BlastFigure;
    rounds: { backend: BlastFigure[]; bare: BlastFigure[] };
  };
  raw?: { mqttPerSecond: number; amqpPerSecond: number };
  profile?: { file: string; totalMs: number; top: ProfileEntry[] };
}

export interface BlastFigure extends BlastResult {
  /** The server process's CPU (utime+stime, all threads) per poll answered, in µs. */
  cpuUsPerPoll: number;
}

const medianBy = <T>(xs: T[], key: (x: T) => number): T => {
  const sorted = [...xs].sort((a, b) => key(a) - key(b));
  return sorted[(sorted.length - 1) >> 1] as T;
};

/**
 * The backend's event-loop delay since the last scrape, from its `/metrics` (prom-client resets
 * its monitorEventLoopDelay histogram at every collection); undefined when it cannot be read.
 */
/**
 * The flags every backend of a fleet run takes: the brokers, the run's own SIE names, the fleet's
 * poll interval as the polling sleep, and no registration limit (the whole simulated fleet
 * registers from one address).
 */
export function fleetBackendArgs(
  o: { mqttUrl: string; amqpUrl: string; pollSeconds: number },
  exchange: string,
  sieQueue: string,
  dataDir: string,
): string[] {
  const pad = (n: number) => String(n).padStart(2, '0');
  const s = o.pollSeconds;
  const sleep = `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
  return [
    '--mqtt-url',
    o.mqttUrl,
    '--amqp-url',
    o.amqpUrl,
    '--sie-exchange',
    exchange,
    '--sie-queue',
    sieQueue,
    '--ddi-polling-sleep',
    sleep,
    '--ddi-registration-rate',
    '0',
    '--data-dir',
    dataDir,
    '--log-level',
    'info',
  ];
}

export async function eventLoopDelayOf(
  url: string,
): Promise<{ p99Ms: number; maxMs: number } | undefined> {
  try {
    const text = await (
      await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(30_000) })
    ).text();
    const value = (name: string) => {
      const match = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text);
      return match ? Number(match[1]) * 1000 : undefined;
    };
    const p99Ms = value('otaflow_nodejs_eventloop_lag_p99_seconds');
    const maxMs = value('otaflow_nodejs_eventloop_lag_max_seconds');
    return p99Ms === undefined || maxMs === undefined ? undefined : { p99Ms, maxMs };
  } catch {
    return undefined;
  }
}

export function brokerReachable(url: string, timeoutMs = 1500): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const MiB = 1024 * 1024;
const BLAST_ROUNDS = 3;

/**
 * One campaign, end to end: the backend as a child process (real Mosquitto, SIE to real
 * RabbitMQ), a DDI fleet and an MQTT fleet in two more processes, one assignment of one set to
 * every target through the Management API, then the same measurements against a bare node:http
 * server and raw broker clients. Everything it starts, it stops; everything it declares, it deletes.
 */
export async function runFleet(o: FleetOptions): Promise<FleetResult> {
  for (const url of [o.mqttUrl, o.amqpUrl])
    for (const host of [new URL(url).hostname])
      if (host !== '127.0.0.1' && host !== 'localhost')
        throw new FleetBenchError('BAD_OPTION', `loopback only, got ${url}`);
  for (const url of [o.mqttUrl, o.amqpUrl])
    if (!(await brokerReachable(url)))
      throw new FleetBenchError('BROKER_MISSING', `broker not reachable at ${new URL(url).host}`);

  const run = `fb${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const exchange = `fleet-bench.${run}.sie`;
  const sieQueue = `${exchange}.q`;
  const workDir = await mkdtemp(join(tmpdir(), 'fleet-bench-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  };
  const log = o.log;
  const targets = o.ddi + o.mqtt;
  const pollMs = o.pollSeconds * 1000;

  try {
    // -------------------------------------------------------------- backend
    const nodeArgs = o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [];
    const backend: ReadyApp = await startReadyApp(
      BACKEND_MAIN,
      [
        '--port',
        '0',
        ...storeArgs(o.store),
        ...fleetBackendArgs(o, exchange, sieQueue, join(workDir, 'backend')),
      ],
      { nodeArgs, env: { NODE_OPTIONS: '' }, timeoutMs: 60_000 },
    );
    let backendStopped = false;
    const stopBackend = async () => {
      if (backendStopped) return;
      backendStopped = true;
      await backend.stop(20_000);
    };
    cleanups.push(stopBackend);
    const url = String(backend.ready.url);
    if (backend.ready.sie !== true)
      throw new FleetBenchError('BROKER_MISSING', 'the backend runs without SIE');
    const atReady = readProcStats(backend.pid) as ProcStats;
    log(
      `backend ready at ${url} (pid ${backend.pid}, rss ${(atReady.rssBytes / MiB).toFixed(0)} MiB)`,
    );

    const sie = await startSieCounter({ url: o.amqpUrl, exchange, queue: `${exchange}.count` });
    cleanups.push(() => sie.close({ exchange, queues: [sieQueue] }));

    const mgmt = new ManagementClient(`${url}/rest/v1`);
    const setId = await mgmt.createDistributionSet(`fleet-${run}`, randomBytes(o.artifactBytes));

    // -------------------------------------------------------------- fleet
    const ddiIds = Array.from(
      { length: o.ddi },
      (_, i) => `${run}-ddi-${String(i).padStart(5, '0')}`,
    );
    const mqttIds = Array.from(
      { length: o.mqtt },
      (_, i) => `${run}-mqtt-${String(i).padStart(5, '0')}`,
    );
    const ddiSim: SimChild = startSimChild('./ddiSimulator.ts');
    cleanups.push(() => ddiSim.stop());
    const mqttSim: SimChild = startSimChild('./mqttSimulator.ts');
    cleanups.push(() => mqttSim.stop());
    const maxRunMs = 15 * 60_000;
    await ddiSim.command({
      cmd: 'start',
      config: {
        baseUrl: url,
        tenant: String(backend.ready.tenant),
        prefix: `${run}-ddi-`,
        count: o.ddi,
        pollMs,
        maxRunMs,
      },
    });
    const mqttStarted = mqttSim.command(
      {
        cmd: 'start',
        config: {
          mqttUrl: o.mqttUrl,
          tenant: String(backend.ready.tenant),
          prefix: `${run}-mqtt-`,
          count: o.mqtt,
          downloadDir: join(workDir, 'mqtt'),
          maxRunMs,
        },
      },
      300_000,
    );
    const registerUntil = Date.now() + 180_000;
    for (;;) {
      const [all, mqttTargets] = await Promise.all([mgmt.count(), mgmt.count('channel==mqtt')]);
      log(
        `registering: ${all}/${targets} targets (ddi polled ${ddiSim.progress.registered}/${o.ddi}, mqtt agents ${mqttSim.progress.registered}/${o.mqtt}, mqtt targets ${mqttTargets})`,
      );
      if (all >= targets && mqttTargets >= o.mqtt) break;
      if (Date.now() > registerUntil)
        throw new FleetBenchError('TIMEOUT', 'the fleet did not register in time');
      await delay(2000);
    }
    await mqttStarted;

    // -------------------------------------------------------------- the update
    await ddiSim.command({ cmd: 'window' });
    await mqttSim.command({ cmd: 'window' });
    const before = readProcStats(backend.pid) as ProcStats;
    const sieBefore = sie.tally.messages;
    await eventLoopDelayOf(url);
    const assignedAt = performance.now();
    const ids = [...ddiIds, ...mqttIds];
    const answer = await mgmt.assign(setId, ids);
    log(
      `assigned set ${setId} to ${answer.assigned} targets in ${((performance.now() - assignedAt) / 1000).toFixed(1)} s`,
    );
    if (answer.assigned !== targets)
      throw new FleetBenchError('MANAGEMENT_API', `assigned ${answer.assigned} of ${targets}`);
    let peak = before.peakRssBytes;
    let inSync = 0;
    let lastPrint = 0;
    let lastAsked = 0;
    let stuckSince = 0;
    const deadline = assignedAt + o.updateTimeoutMs;
    while (performance.now() < deadline) {
      const stats = readProcStats(backend.pid);
      if (stats) peak = Math.max(peak, stats.peakRssBytes);
      const done = ddiSim.progress.completed + mqttSim.progress.completed;
      const now = performance.now();
      if ((done >= targets && now - lastAsked > 500) || now - lastPrint > 5000) {
        const was = inSync;
        try {
          inSync = await mgmt.count('updateStatus==in_sync');
        } catch (error) {
          // A backend too busy to answer within the client's timeout is a finding, not the end
          // of the run: say so and ask again.
          log(`progress query failed (backend busy?): ${(error as Error).message}`);
          lastAsked = performance.now();
          continue;
        }
        lastAsked = performance.now();
        // Devices all say they are done but targets stay behind: reports were lost. Wait a
        // while for stragglers, then stop instead of sitting out the whole timeout.
        if (inSync === was && (done >= targets || now - assignedAt > 60_000)) {
          stuckSince ||= lastAsked;
          if (lastAsked - stuckSince > 20_000) break;
        } else stuckSince = 0;
        if (inSync < targets && lastAsked - lastPrint < 2000) {
          await delay(250);
          continue;
        }
        lastPrint = lastAsked;
        const t = (performance.now() - assignedAt) / 1000;
        log(
          `update t=${t.toFixed(0)}s: in_sync ${inSync}/${targets}, ddi done ${ddiSim.progress.completed}, mqtt done ${mqttSim.progress.completed}, sie ${sie.tally.messages - sieBefore} events, backend rss ${((stats?.rssBytes ?? 0) / MiB).toFixed(0)} MiB cpu ${((stats?.cpuSeconds ?? 0) - before.cpuSeconds).toFixed(1)} s`,
        );
        if (inSync >= targets) break;
      }
      await delay(250);
    }
    const finishedAt = performance.now();
    // The simulators count a device done when its last answer arrives and tell us over IPC a
    // little later than the backend marks the target IN_SYNC: give their counts a bounded moment.
    for (let i = 0; i < 40 && inSync >= targets; i++) {
      if (ddiSim.progress.completed + mqttSim.progress.completed >= targets) break;
      await delay(250);
    }
    const eventLoopDelay = await eventLoopDelayOf(url);
    const after = readProcStats(backend.pid) as ProcStats;
    peak = Math.max(peak, after.peakRssBytes);
    const updateSeconds = (finishedAt - assignedAt) / 1000;
    const ddiWindow = await ddiSim.command<SimWindow>({ cmd: 'window' });
    const mqttWindow = await mqttSim.command<SimWindow>({ cmd: 'window' });
    if (inSync < targets)
      log(
        `update did not complete: ${inSync}/${targets} in sync after ${updateSeconds.toFixed(0)} s`,
      );

    // SIE: wait (bounded) for the last events of the update to arrive.
    let check = sie.check(ids);
    for (let i = 0; i < 40 && !check.complete; i++) {
      await delay(500);
      check = sie.check(ids);
    }
    const sieMessages = sie.tally.messages - sieBefore;
    const sieSeconds = Math.max(0.001, ((sie.tally.lastAt ?? finishedAt) - assignedAt) / 1000);
    log(`sie: ${sieMessages} events, missing ${JSON.stringify(check.missing)}`);

    const result: FleetResult = {
      targets,
      completed: { ddi: ddiSim.progress.completed, mqtt: mqttSim.progress.completed, inSync },
      lost: targets - inSync,
      updateSeconds,
      requestsPerSecond: ddiWindow.requests / ddiWindow.seconds,
      reportsPerSecond: (ddiWindow.reports + mqttWindow.reports) / updateSeconds,
      sie: {
        messages: sieMessages,
        perSecond: sieMessages / sieSeconds,
        byTopic: { ...sie.tally.byTopic },
        check,
      },
      backend: {
        peakRssBytes: peak,
        rssAtReadyBytes: atReady.rssBytes,
        bytesPerTarget: (peak - atReady.rssBytes) / targets,
        cpuSecondsUpdate: after.cpuSeconds - before.cpuSeconds,
        cpuSecondsPerUpdate: (after.cpuSeconds - before.cpuSeconds) / Math.max(1, inSync),
        ...(eventLoopDelay ? { eventLoopDelay } : {}),
      },
      latency: {
        poll: ddiWindow.latency.poll as LatencySummary,
        feedback: ddiWindow.latency.feedback as LatencySummary,
        deploymentBase: ddiWindow.latency.deploymentBase as LatencySummary,
        download: ddiWindow.latency.download as LatencySummary,
      },
      errors: {
        ddi: ddiWindow.errors,
        mqtt: mqttSim.progress.errors,
        lastErrors: [...ddiWindow.lastErrors, ...mqttWindow.lastErrors],
        backendProblems: [...backend.problems],
      },
    };

    // -------------------------------------------------------------- steady polling + max throughput
    let idleBody = '';
    let bare: ReadyApp | undefined;
    if (o.measureSeconds > 0 && o.ddi > 0) {
      const probe = await fetch(
        `${url}/${String(backend.ready.tenant)}/controller/v1/${ddiIds[0]}`,
      );
      idleBody = await probe.text();
      await ddiSim.command({ cmd: 'window' });
      log(`steady polling against the backend for ${o.measureSeconds} s`);
      await delay(o.measureSeconds * 1000);
      const steadyBackend = await ddiSim.command<SimWindow>({ cmd: 'window' });
      await mqttSim.stop();
      await ddiSim.command({ cmd: 'pause' });
      // The bare server runs beside the backend, in its own process, and the two are blasted in
      // alternating rounds by the same client: both meet the same machine, the median round counts.
      const bareApp = await startReadyApp(
        fileURLToPath(new URL('./bareServer.ts', import.meta.url)),
        [],
        { env: { BARE_BODY: idleBody, NODE_OPTIONS: '' } },
      );
      bare = bareApp;
      cleanups.push(() => bareApp.stop());
      await delay(500);
      const rounds = { backend: [] as BlastFigure[], bare: [] as BlastFigure[] };
      const blastOnce = async (which: 'backend' | 'bare') => {
        const pid = which === 'backend' ? backend.pid : bareApp.pid;
        const cpuBefore = readProcStats(pid)?.cpuSeconds ?? 0;
        const r = await ddiSim.command<BlastResult>({
          cmd: 'blast',
          seconds: o.measureSeconds / 2,
          connections: o.blastConnections,
          ...(which === 'bare' ? { origin: String(bareApp.ready.url) } : {}),
        });
        const cpu = (readProcStats(pid)?.cpuSeconds ?? cpuBefore) - cpuBefore;
        const figure = { ...r, cpuUsPerPoll: (cpu * 1e6) / Math.max(1, r.requests) };
        rounds[which].push(figure);
        log(
          `  ${which}: ${figure.perSecond.toFixed(0)} polls/s, ${figure.cpuUsPerPoll.toFixed(1)} µs CPU per poll, p99 ${figure.latency.p99.toFixed(2)} ms`,
        );
      };
      log(
        `max poll throughput, backend and bare server alternating, ${BLAST_ROUNDS} rounds of ${o.measureSeconds / 2} s each, ${o.blastConnections} connections`,
      );
      for (let i = 0; i < BLAST_ROUNDS; i++)
        for (const which of i % 2 ? (['bare', 'backend'] as const) : (['backend', 'bare'] as const))
          await blastOnce(which);
      await ddiSim.stop();
      result.steady = {
        offeredPerSecond: o.ddi / o.pollSeconds,
        backend: steadyBackend,
        bare: steadyBackend,
      };
      result.blast = {
        backend: medianBy(rounds.backend, (r) => r.perSecond),
        bare: medianBy(rounds.bare, (r) => r.perSecond),
        rounds,
      };
    }
    await mqttSim.stop();
    await ddiSim.stop();
    await stopBackend();
    if (o.cpuProfDir) {
      // One profile per thread (tsx's loader runs in a worker): the main thread's is the largest.
      const files = await Promise.all(
        (await readdir(o.cpuProfDir))
          .filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${backend.pid}.`))
          .map(async (f) => ({ f, size: (await stat(join(o.cpuProfDir as string, f))).size })),
      );
      const file = files.sort((a, b) => b.size - a.size)[0]?.f;
      if (file) {
        const summary = summariseCpuProfile(join(o.cpuProfDir, file));
        result.profile = {
          file: join(o.cpuProfDir, file),
          totalMs: summary.totalMs,
          top: summary.entries,
        };
      }
    }

    // -------------------------------------------------------------- baselines
    if (result.steady && bare) {
      const bareSim = startSimChild('./ddiSimulator.ts');
      cleanups.push(() => bareSim.stop());
      await bareSim.command({
        cmd: 'start',
        config: {
          baseUrl: String(bare.ready.url),
          tenant: String(backend.ready.tenant),
          prefix: `${run}-ddi-`,
          count: o.ddi,
          pollMs,
          maxRunMs,
        },
      });
      log(
        `bare node:http server: same fleet, first polls spread over ${o.pollSeconds} s, then ${o.measureSeconds} s measured`,
      );
      await delay(pollMs);
      await bareSim.command({ cmd: 'window' });
      await delay(o.measureSeconds * 1000);
      result.steady.bare = await bareSim.command<SimWindow>({ cmd: 'window' });
      await bareSim.stop();
      await bare.stop();
    }
    if (o.rawMessages > 0) {
      log(`raw mqtt.js: ${o.rawMessages} QoS 1 messages, 20 publishers -> 1 subscriber`);
      const m = await rawMqttThroughput({
        url: o.mqttUrl,
        run,
        messages: o.rawMessages,
        publishers: 20,
        bytes: 400,
        maxMs: 60_000,
      });
      log(`raw amqplib: ${o.rawMessages} persistent messages on a confirm channel`);
      const a = await rawAmqpThroughput({
        url: o.amqpUrl,
        run,
        messages: o.rawMessages,
        bytes: 300,
        window: 500,
        maxMs: 60_000,
      });
      result.raw = { mqttPerSecond: m.perSecond, amqpPerSecond: a.perSecond };
    }
    return result;
  } finally {
    await cleanup();
    await rm(workDir, { recursive: true, force: true });
  }
}

export { APP_DIR };
