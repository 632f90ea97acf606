import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger, runMain, untilAborted } from '@otaflow/cli';
import { createSieConsumer, SIE_TOPICS, type SieConsumer } from '@otaflow/sie-amqp';
import { type BackendProcess, startBackendProcess } from './backendProcess.js';
import { ensureConsoleBuilt } from './consoleBuild.js';
import {
  type HuaweiPlatform,
  type RunningFleet,
  startDevices,
  startHuaweiPlatform,
} from './fleet.js';
import { ManagementClient } from './managementClient.js';
import { planFleet, rolloutOf } from './plan.js';
import { type ChannelProgress, ProgressView } from './progress.js';
import { type DeviceResult, formatSummary, summarise } from './summary.js';

export const DEMO_CLI = {
  name: 'otaflow-demo',
  summary:
    'starts the backend and a mixed fleet (DDI, MQTT, Huawei) and runs one update to the end',
  flags: {
    ddi: { type: 'number', env: 'DEMO_DDI', default: 4, description: 'DDI devices (polling)' },
    mqtt: {
      type: 'number',
      env: 'DEMO_MQTT',
      default: 3,
      description: 'SoftwareUpdatable devices over MQTT',
    },
    huawei: {
      type: 'number',
      env: 'DEMO_HUAWEI',
      default: 3,
      description: 'devices behind the Huawei platform stand-in',
    },
    fail: {
      type: 'number',
      env: 'DEMO_FAIL',
      default: 1,
      description: 'failing devices per channel',
    },
    mqttUrl: {
      type: 'string',
      env: 'MQTT_URL',
      placeholder: 'URL',
      description: 'MQTT broker (default: the backend embeds one)',
    },
    amqpUrl: {
      type: 'string',
      env: 'AMQP_URL',
      placeholder: 'URL',
      description: 'RabbitMQ for SIE events (default: no SIE)',
    },
    sieExchange: {
      type: 'string',
      env: 'SIE_EXCHANGE',
      default: 'sievent.exchange',
      description: 'SIE exchange the backend publishes to',
    },
    sieQueue: {
      type: 'string',
      env: 'SIE_QUEUE',
      default: 'sievent_queue',
      description: 'SIE queue the backend binds and the demo reads',
    },
    tenant: {
      type: 'string',
      env: 'TENANT',
      default: 'DEFAULT',
      description: 'tenant (DDI path, Hono topics, SIE header)',
    },
    artifactBytes: {
      type: 'number',
      env: 'DEMO_ARTIFACT_BYTES',
      default: 256 * 1024,
      description: 'size of the generated artifact',
    },
    timeout: {
      type: 'number',
      env: 'DEMO_TIMEOUT',
      default: 60,
      placeholder: 'seconds',
      description: 'give up after this long',
    },
    inspect: {
      type: 'boolean',
      env: 'INSPECT',
      description: 'stream the machines to the XState inspector and keep running after the update',
    },
    keepRunning: {
      type: 'boolean',
      env: 'DEMO_KEEP_RUNNING',
      description: 'keep the backend running after the update, to look around in the console',
    },
    json: {
      type: 'boolean',
      description: 'print the summary as one JSON object (progress goes to stderr)',
    },
    verbose: {
      type: 'boolean',
      env: 'DEMO_VERBOSE',
      description: 'echo the backend logs and device messages to stderr',
    },
  },
  examples: [
    'pnpm start',
    'pnpm start -- --ddi 10 --mqtt 10 --huawei 0',
    'MQTT_URL=mqtt://127.0.0.1:1883 AMQP_URL=amqp://guest:guest@127.0.0.1:5672 pnpm start',
    'pnpm start -- --inspect',
    'pnpm start -- --keep-running',
  ],
} as const;

await runMain(DEMO_CLI, async ({ flags, signal }) => {
  const started = Date.now();
  const err = process.stderr;
  const say = (line: string) => err.write(`${line}\n`);
  // Device chatter only with --verbose; the SIE consumer's warnings always, as they mean lost events.
  const deviceLog = createLogger('demo', {
    level: flags.verbose ? 'info' : 'silent',
    write: (line) => say(`device  | ${line}`),
  });
  const sieLog = createLogger('demo', {
    level: flags.verbose ? 'info' : 'warn',
    write: (line) => say(`sie     | ${line}`),
  });
  for (const key of ['ddi', 'mqtt', 'huawei', 'fail', 'artifactBytes', 'timeout'] as const)
    if (!Number.isInteger(flags[key]) || flags[key] < 0)
      throw new Error(`--${key} must be a whole number >= 0, got ${flags[key]}`);
  const plan = planFleet(flags);
  if (plan.length === 0) throw new Error('no devices: give --ddi, --mqtt or --huawei above 0');

  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    // ------------------------------------------------------------ backend and Huawei platform
    let platform: HuaweiPlatform | undefined;
    if (flags.huawei > 0) {
      platform = await startHuaweiPlatform(plan);
      const p = platform;
      cleanups.push(() => p.close());
    }
    const args = [
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--log-level',
      'info',
      '--tenant',
      flags.tenant,
      '--ddi-polling-sleep',
      '00:00:01',
      '--sie-exchange',
      flags.sieExchange,
      '--sie-queue',
      flags.sieQueue,
    ];
    // The embedded broker lets devices in by login only: the demo's devices share one password.
    const mqttPassword = flags.mqttUrl ? undefined : randomBytes(18).toString('base64url');
    if (flags.mqttUrl) args.push('--mqtt-url', flags.mqttUrl);
    if (flags.amqpUrl) args.push('--amqp-url', flags.amqpUrl);
    if (platform)
      args.push(
        '--huawei-platform-url',
        platform.url,
        '--huawei-app-id',
        platform.appId,
        '--huawei-secret',
        platform.secret,
      );
    if (flags.inspect) args.push('--inspect');
    // A fresh embedded database each run (a copy of the backend's cached, migrated template, so
    // no initdb), removed after the backend stopped: cleanups run in reverse.
    await ensureConsoleBuilt(say);
    const stateDir = await mkdtemp(join(tmpdir(), 'otaflow-demo-state-'));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    args.push('--data-dir', stateDir);
    say(
      `otaflow demo: ${flags.ddi} DDI, ${flags.mqtt} MQTT, ${flags.huawei} Huawei devices; starting the backend...`,
    );
    const backend: BackendProcess = await startBackendProcess({
      args,
      // The backend reads the same variables; flags above already say what the demo decided.
      // The device password goes by environment, not on a command line others can read.
      env: {
        AMQP_URL: undefined,
        MQTT_URL: undefined,
        DATABASE_URL: undefined,
        STORE: undefined,
        MQTT_DEVICE_PASSWORD: mqttPassword,
      },
      ...(flags.verbose ? { onLine: (line: string) => say(`backend | ${line}`) } : {}),
    });
    cleanups.push(() => backend.stop());
    const { ready } = backend;
    say(
      `backend ready: ${ready.url} (Management API ${ready.managementApi}), MQTT ${ready.mqttUrl}${ready.embeddedBroker ? ' (embedded)' : ''}`,
    );
    if (!ready.sie)
      say(
        flags.amqpUrl
          ? `SIE: off, the AMQP broker is not reachable (see the backend log)`
          : 'SIE: off (no AMQP_URL given)',
      );
    if (ready.console)
      say(`console: open ${ready.console} in a browser (user admin, password admin)`);
    if (ready.inspector)
      say(
        `XState inspector: open ${ready.inspector} in a browser (every target and action machine, live)`,
      );
    if (signal.aborted) return 130;

    // ------------------------------------------------------------ SIE consumer
    const sieEvents: Record<string, number> = {};
    let consumer: SieConsumer | undefined;
    if (ready.sie && flags.amqpUrl) {
      const handlers: Record<string, (body: { timestamp?: number }) => void> = {};
      for (const topic of SIE_TOPICS)
        handlers[topic] = (body) => {
          // The queue may hold events of earlier runs: count this run's only.
          if ((body.timestamp ?? started) >= started)
            sieEvents[topic] = (sieEvents[topic] ?? 0) + 1;
        };
      consumer = createSieConsumer({
        url: flags.amqpUrl,
        queue: ready.sieQueue ?? flags.sieQueue,
        handlers: handlers as never,
        connectionName: 'otaflow-demo',
        logger: sieLog,
      });
      await consumer.start();
      const c = consumer;
      cleanups.push(() => c.close());
    }

    // ------------------------------------------------------------ fleet
    const mgmt = new ManagementClient(ready.managementApi);
    const huaweiTargets = plan.filter((d) => d.channel === 'huawei');
    if (huaweiTargets.length > 0)
      await mgmt.createTargets(
        huaweiTargets.map((d) => ({
          controllerId: d.controllerId,
          name: d.controllerId,
          channel: 'huawei',
        })),
      );
    const workDir = await mkdtemp(join(tmpdir(), 'otaflow-demo-'));
    cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    const cancelCandidates: { controllerId: string; actionId: number }[] = [];
    const fleet: RunningFleet = await startDevices({
      devices: plan,
      backendUrl: ready.url,
      mqttUrl: ready.mqttUrl,
      mqttPassword,
      tenant: ready.tenant,
      workDir,
      pollMs: 1000,
      hooks: {
        onCancelCandidate: (controllerId, actionId) =>
          cancelCandidates.push({ controllerId, actionId: Number(actionId) }),
        logger: deviceLog,
      },
    });
    cleanups.push(() => fleet.stop());

    const deadline = started + flags.timeout * 1000;
    const wanted = new Set(plan.map((d) => d.controllerId));
    while (!signal.aborted) {
      const { content } = await mgmt.listTargets();
      const known = content.filter((t) => wanted.has(t.controllerId)).length;
      if (known === wanted.size) break;
      if (Date.now() > deadline)
        throw new Error(`only ${known} of ${wanted.size} devices registered in time`);
      await delay(100);
    }
    say(
      `${wanted.size} targets registered (DDI on first poll, MQTT on announcing SoftwareUpdatable, Huawei through the Management API)`,
    );

    // ------------------------------------------------------------ artifact, module, set, assignment
    const artifact = randomBytes(flags.artifactBytes);
    const moduleId = await mgmt.createModule('demo-firmware', '2.0.0');
    const uploaded = await mgmt.uploadArtifact(moduleId, 'demo-firmware-2.0.0.bin', artifact);
    const setId = await mgmt.createDistributionSet('demo-release', '2.0.0', moduleId);
    say(
      `uploaded demo-firmware-2.0.0.bin (${uploaded.size} bytes, sha256 ${uploaded.hashes.sha256?.slice(0, 12)}...) to module ${moduleId}, in distribution set ${setId}`,
    );
    const direct = plan.filter((d) => d.delivery === 'direct');
    if (direct.length > 0) {
      const assigned = await mgmt.assign(
        setId,
        direct.map((d) => ({
          id: d.controllerId,
          // The canceled device gets a soft update it defers, so the cancel reaches a running action.
          type: d.role === 'cancel' ? 'soft' : 'forced',
          confirmationRequired: d.role === 'confirm',
        })),
      );
      say(`assigned directly to ${assigned.assigned} DDI targets (a cancel and a consent)`);
    }
    const rolloutId = await mgmt.createRollout(rolloutOf(plan, setId));
    await mgmt.rolloutOperation(rolloutId, 'start');
    const groupNames = [
      ...new Set(plan.filter((d) => d.delivery !== 'direct').map((d) => d.delivery)),
    ];
    say(`rollout ${rolloutId} started: groups ${groupNames.join(', ')}; running the update...`);

    // ------------------------------------------------------------ watch it run
    const view = new ProgressView(err);
    const results = new Map<string, { id: number; status: string; active: boolean }>();
    const canceled = new Set<string>();
    let timedOut = false;
    let resumed = false;
    let rollout = await mgmt.getRollout(rolloutId);
    let groups = await mgmt.rolloutGroups(rolloutId);
    while (!signal.aborted) {
      for (const candidate of cancelCandidates.splice(0)) {
        if (canceled.has(candidate.controllerId)) continue;
        canceled.add(candidate.controllerId);
        await mgmt.cancelAction(candidate.controllerId, candidate.actionId);
        say(
          `canceled action ${candidate.actionId} of ${candidate.controllerId} through the Management API`,
        );
      }
      await Promise.all(
        plan.map(async (d) => {
          const action = await mgmt.latestAction(d.controllerId);
          if (action) results.set(d.controllerId, action);
        }),
      );
      rollout = await mgmt.getRollout(rolloutId);
      groups = await mgmt.rolloutGroups(rolloutId);
      if (rollout.status === 'paused' && !resumed) {
        const tripped = groups.find((g) => g.status === 'error');
        say(
          `group ${tripped?.name ?? '?'} tripped its error threshold (${tripped?.totalTargetsPerStatus.error ?? 0} failed): rollout paused; resuming it through the Management API`,
        );
        await mgmt.rolloutOperation(rolloutId, 'resume');
        resumed = true;
      }
      const directResults = direct.map((d) => results.get(d.controllerId));
      const progress: ChannelProgress[] = [
        ...groups.map((g) => {
          const c = g.totalTargetsPerStatus;
          return {
            channel: g.name,
            total: g.totalTargets,
            done: c.finished + c.error + c.cancelled,
            detail: `${g.status}: ${c.finished} finished, ${c.error} error, ${c.running} running, ${c.scheduled} scheduled`,
          };
        }),
        ...(direct.length > 0
          ? [
              {
                channel: 'direct',
                total: direct.length,
                done: directResults.filter((s) => s && !s.active).length,
                detail: directResults.map((s) => s?.status ?? 'none').join(', '),
              },
            ]
          : []),
      ];
      view.render(progress, Date.now() - started);
      const settled =
        [...results.values()].length === plan.length &&
        [...results.values()].every((s) => !s.active && s.status !== 'scheduled');
      if (settled && (rollout.status === 'finished' || rollout.status === 'stopped')) break;
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      await delay(250);
    }
    if (signal.aborted) {
      say('stopping (signal)...');
      return 130;
    }

    // SIE events of the last changes may still be on their way.
    if (consumer) await delay(1000);
    const targets = new Map((await mgmt.listTargets()).content.map((t) => [t.controllerId, t]));
    const devices: DeviceResult[] = plan.map((d) => {
      const action = results.get(d.controllerId);
      const target = targets.get(d.controllerId);
      const actionStatus = action ? action.status.toUpperCase() : null;
      const targetStatus = target ? target.updateStatus.toUpperCase() : null;
      return {
        controllerId: d.controllerId,
        channel: d.channel,
        role: d.role,
        actionId: action?.id ?? null,
        action: actionStatus,
        target: targetStatus,
        expectedAction: d.expectedAction,
        expectedTarget: d.expectedTarget,
        ok: actionStatus === d.expectedAction && targetStatus === d.expectedTarget,
      };
    });
    const summary = summarise(devices, {
      durationMs: Date.now() - started,
      timedOut,
      backend: {
        url: ready.url,
        mqttUrl: ready.mqttUrl,
        embeddedBroker: ready.embeddedBroker,
        tenant: ready.tenant,
      },
      fleet: { ddi: flags.ddi, mqtt: flags.mqtt, huawei: flags.huawei },
      rollout: {
        id: rollout.id,
        name: rollout.name,
        status: rollout.status,
        resumed,
        groups: groups.map((g) => ({
          name: g.name,
          status: g.status,
          total: g.totalTargets,
          finished: g.totalTargetsPerStatus.finished,
          error: g.totalTargetsPerStatus.error,
        })),
      },
      sie: {
        enabled: consumer !== undefined,
        ...(consumer
          ? { exchange: ready.sieExchange, queue: ready.sieQueue }
          : { off: flags.amqpUrl ? 'the AMQP broker is not reachable' : 'no AMQP_URL given' }),
        events: sieEvents,
      },
      ...(ready.inspector ? { inspector: ready.inspector } : {}),
    });
    if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else process.stdout.write(formatSummary(summary));
    if (!summary.ok && backend.problems.length > 0)
      say(`last backend warnings:\n${backend.problems.slice(-10).join('\n')}`);

    if (flags.keepRunning || (flags.inspect && ready.inspector)) {
      const where = [ready.console, ready.inspector].filter(Boolean).join(' and ');
      say(`still running: ${where}; press Ctrl-C to stop`);
      await untilAborted(signal);
    }
    return summary.ok ? 0 : 1;
  } finally {
    await cleanup();
  }
});
