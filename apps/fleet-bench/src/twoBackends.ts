import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type ReadyApp, startReadyApp } from '@otaflow/cli';
import { FleetBenchError } from './FleetBenchError.js';
import { BACKEND_MAIN, brokerReachable, fleetBackendArgs } from './harness.js';
import type { LatencySummary } from './latency.js';
import { ManagementClient } from './managementClient.js';
import { type ProcStats, readProcStats } from './procStats.js';
import type { SimWindow } from './protocol.js';
import { type SieCheck, startSieCounter } from './sieCounter.js';
import { type SimChild, startSimChild } from './simChild.js';

export interface TwoBackendOptions {
  ddi: number;
  mqtt: number;
  pollSeconds: number;
  artifactBytes: number;
  mqttUrl: string;
  amqpUrl: string;
  /** The PostgreSQL database both backends share (the caller owns it). */
  databaseUrl: string;
  updateTimeoutMs: number;
  log: (line: string) => void;
}

export interface BackendFigures {
  name: string;
  /** DDI devices polling this backend. */
  ddiDevices: number;
  /** DDI requests it answered per second during the update. */
  requestsPerSecond: number;
  poll: LatencySummary;
  feedback: LatencySummary;
  peakRssBytes: number;
  cpuSecondsUpdate: number;
}

export interface TwoBackendResult {
  targets: number;
  inSync: number;
  lost: number;
  updateSeconds: number;
  reportsPerSecond: number;
  sie: { messages: number; perSecond: number; check: SieCheck };
  backends: BackendFigures[];
  errors: { ddi: number; mqtt: number; lastErrors: string[] };
}

const NAMES = ['a', 'b'] as const;

/**
 * The campaign of `runFleet` on two backend processes sharing one PostgreSQL database: the DDI
 * fleet split in halves, each half polling one backend (as behind a load balancer that keeps a
 * device on one backend); the MQTT fleet on the broker, whose reports an MQTT 5 shared
 * subscription spreads over both backends' commanders (`--mqtt-share-group`, a client id each);
 * SIE from both to one exchange. The assignment goes through backend a. Per backend: DDI
 * requests, latencies, peak RSS and CPU during the update.
 */
export async function runTwoBackendFleet(o: TwoBackendOptions): Promise<TwoBackendResult> {
  for (const url of [o.mqttUrl, o.amqpUrl])
    if (!(await brokerReachable(url)))
      throw new FleetBenchError('BROKER_MISSING', `broker not reachable at ${new URL(url).host}`);
  const run = `fb${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const exchange = `fleet-bench.${run}.sie`;
  const sieQueue = `${exchange}.q`;
  const workDir = await mkdtemp(join(tmpdir(), 'fleet-bench-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const log = o.log;
  const targets = o.ddi + o.mqtt;
  try {
    // One at a time: the first migrates the database, the second finds it migrated.
    const backends: ReadyApp[] = [];
    for (const name of NAMES) {
      const app = await startReadyApp(
        BACKEND_MAIN,
        [
          '--port',
          '0',
          '--database-url',
          o.databaseUrl,
          '--mqtt-client-id',
          `${run}-commander-${name}`,
          '--mqtt-share-group',
          run,
          // One blob store for both, as behind a load balancer: an artifact uploaded through
          // one backend is downloaded through the other.
          ...fleetBackendArgs(o, exchange, sieQueue, join(workDir, 'backend')),
        ],
        { env: { NODE_OPTIONS: '' }, timeoutMs: 60_000 },
      );
      backends.push(app);
      cleanups.push(() => app.stop(20_000));
      log(`backend ${name} ready at ${String(app.ready.url)} (pid ${app.pid})`);
    }
    const tenant = String(backends[0]!.ready.tenant);
    const sie = await startSieCounter({ url: o.amqpUrl, exchange, queue: `${exchange}.count` });
    cleanups.push(() => sie.close({ exchange, queues: [sieQueue] }));
    const mgmt = new ManagementClient(`${String(backends[0]!.ready.url)}/rest/v1`);
    const setId = await mgmt.createDistributionSet(`fleet-${run}`, randomBytes(o.artifactBytes));

    const halves = [Math.ceil(o.ddi / 2), Math.floor(o.ddi / 2)];
    const ddiIds: string[] = [];
    const ddiSims: SimChild[] = [];
    for (const [k, name] of NAMES.entries()) {
      const prefix = `${run}-ddi-${name}-`;
      for (let i = 0; i < halves[k]!; i++) ddiIds.push(`${prefix}${String(i).padStart(5, '0')}`);
      const sim = startSimChild('./ddiSimulator.ts');
      cleanups.push(() => sim.stop());
      ddiSims.push(sim);
      await sim.command({
        cmd: 'start',
        config: {
          baseUrl: String(backends[k]!.ready.url),
          tenant,
          prefix,
          count: halves[k],
          pollMs: o.pollSeconds * 1000,
          maxRunMs: 15 * 60_000,
        },
      });
    }
    const mqttIds = Array.from(
      { length: o.mqtt },
      (_, i) => `${run}-mqtt-${String(i).padStart(5, '0')}`,
    );
    const mqttSim = startSimChild('./mqttSimulator.ts');
    cleanups.push(() => mqttSim.stop());
    const mqttStarted = mqttSim.command(
      {
        cmd: 'start',
        config: {
          mqttUrl: o.mqttUrl,
          tenant,
          prefix: `${run}-mqtt-`,
          count: o.mqtt,
          downloadDir: join(workDir, 'mqtt'),
          maxRunMs: 15 * 60_000,
        },
      },
      300_000,
    );
    const registerUntil = Date.now() + 180_000;
    for (;;) {
      const [all, mqttTargets] = await Promise.all([mgmt.count(), mgmt.count('channel==mqtt')]);
      log(`registering: ${all}/${targets} targets (mqtt ${mqttTargets}/${o.mqtt})`);
      if (all >= targets && mqttTargets >= o.mqtt) break;
      if (Date.now() > registerUntil)
        throw new FleetBenchError('TIMEOUT', 'the fleet did not register in time');
      await delay(2000);
    }
    await mqttStarted;

    for (const sim of [...ddiSims, mqttSim]) await sim.command({ cmd: 'window' });
    const before = backends.map((b) => readProcStats(b.pid) as ProcStats);
    const peaks = before.map((s) => s.peakRssBytes);
    const sieBefore = sie.tally.messages;
    const assignedAt = performance.now();
    const answer = await mgmt.assign(setId, [...ddiIds, ...mqttIds]);
    log(`assigned set ${setId} to ${answer.assigned} targets through backend a`);
    if (answer.assigned !== targets)
      throw new FleetBenchError('MANAGEMENT_API', `assigned ${answer.assigned} of ${targets}`);
    let inSync = 0;
    let stuckSince = 0;
    let lastPrint = 0;
    while (performance.now() < assignedAt + o.updateTimeoutMs) {
      await delay(1000);
      backends.forEach((b, k) => {
        peaks[k] = Math.max(peaks[k]!, readProcStats(b.pid)?.peakRssBytes ?? 0);
      });
      const was = inSync;
      inSync = await mgmt.count('updateStatus==in_sync').catch(() => inSync);
      const t = (performance.now() - assignedAt) / 1000;
      if (inSync >= targets) break;
      if (inSync === was && t > 30) {
        stuckSince ||= performance.now();
        if (performance.now() - stuckSince > 20_000) break;
      } else stuckSince = 0;
      if (performance.now() - lastPrint > 5000) {
        lastPrint = performance.now();
        const done = ddiSims.reduce((n, s) => n + s.progress.completed, mqttSim.progress.completed);
        log(`update t=${t.toFixed(0)}s: in_sync ${inSync}/${targets}, devices done ${done}`);
      }
    }
    const updateSeconds = (performance.now() - assignedAt) / 1000;
    const after = backends.map((b) => readProcStats(b.pid) as ProcStats);
    const windows = await Promise.all(ddiSims.map((s) => s.command<SimWindow>({ cmd: 'window' })));
    const mqttWindow = await mqttSim.command<SimWindow>({ cmd: 'window' });
    let check = sie.check([...ddiIds, ...mqttIds]);
    for (let i = 0; i < 40 && !check.complete; i++) {
      await delay(500);
      check = sie.check([...ddiIds, ...mqttIds]);
    }
    const sieMessages = sie.tally.messages - sieBefore;
    const sieSeconds = Math.max(0.001, ((sie.tally.lastAt ?? 0) - assignedAt) / 1000);
    log(`update: ${inSync}/${targets} in sync after ${updateSeconds.toFixed(1)} s`);
    return {
      targets,
      inSync,
      lost: targets - inSync,
      updateSeconds,
      reportsPerSecond:
        (windows.reduce((n, w) => n + w.reports, 0) + mqttWindow.reports) / updateSeconds,
      sie: { messages: sieMessages, perSecond: sieMessages / sieSeconds, check },
      backends: backends.map((_, k) => ({
        name: NAMES[k]!,
        ddiDevices: halves[k]!,
        requestsPerSecond: windows[k]!.requests / windows[k]!.seconds,
        poll: windows[k]!.latency.poll as LatencySummary,
        feedback: windows[k]!.latency.feedback as LatencySummary,
        peakRssBytes: Math.max(peaks[k]!, after[k]!.peakRssBytes),
        cpuSecondsUpdate: after[k]!.cpuSeconds - before[k]!.cpuSeconds,
      })),
      errors: {
        ddi: windows.reduce((n, w) => n + w.errors, 0),
        mqtt: mqttSim.progress.errors,
        lastErrors: [...windows.flatMap((w) => w.lastErrors), ...mqttWindow.lastErrors].slice(0, 6),
      },
    };
  } finally {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    await rm(workDir, { recursive: true, force: true });
  }
}
