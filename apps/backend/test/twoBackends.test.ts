import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AppProcess, spawnApp } from '@otaflow/cli';
import { createDeviceAgent } from '@otaflow/iothub-mqtt';
import { type ActionEventBody, SieConsumer, type SieHandlers } from '@otaflow/sie-amqp';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  type Json,
  mgmt,
  postgresAvailable,
  scratchDatabase,
  serviceAvailable,
} from './services.js';

/**
 * Two backends on one PostgreSQL database, one Mosquitto and one RabbitMQ: DDI devices spread over
 * both behind a client-side "load balancer" (a device whose backend is gone goes to the other, as
 * behind a proxy), MQTT devices whose reports the backends' commanders split through their share
 * group. One backend is killed with SIGKILL in the middle of the update: every DDI update
 * completes through the other; the MQTT reports the broker had already queued for the dead
 * backend's session wait for it, so it is started again under the same client id (Mosquitto keeps
 * a crashed member's share in its session) and every MQTT update completes. Every action's SIE
 * events arrive at least once (the outbox), and no report is applied twice: each action has
 * exactly one closing entry, and finished actions stay finished.
 */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DEVICES = 24;
const MQTT_DEVICES = 8;
const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
/** A tenant of this run only: other tests on the same broker never see its topics. */
const TENANT = `two${randomBytes(3).toString('hex')}`;

const reachable = (what: string, url: string, port: number) =>
  serviceAvailable(`${what} at ${url}`, 'the two-backend test', () => {
    const parsed = new URL(url);
    return new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(parsed.port || port), parsed.hostname, () => {
        socket.end();
        resolve();
      });
      socket.once('error', reject);
    });
  });

const available =
  (await postgresAvailable('the two-backend test')) &&
  (await reachable('Mosquitto', MQTT_URL, 1883)) &&
  (await reachable('RabbitMQ', AMQP_URL, 5672));

interface Backend {
  app: AppProcess;
  url: string;
  args: string[];
  alive: boolean;
}

async function start(args: string[]): Promise<Backend> {
  const app = spawnApp(MAIN, args, {
    env: { DATABASE_URL: undefined, STORE: undefined, DATA_DIR: undefined },
  });
  const line = await app
    .waitForLine((l) => l.includes('"msg":"ready"'), 90_000)
    .catch((e) => {
      app.child.kill('SIGKILL');
      throw new Error(`backend did not start: ${e}\n${app.stdout().slice(-3000)}`);
    });
  return { app, url: String(JSON.parse(line).url), args, alive: true };
}

interface MqttDevice {
  /** Resolves at the device's last report of the update (FINISHED_SUCCESS). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** An MQTT device of the tenant on the shared broker that installs whatever it is sent. */
async function mqttDevice(id: string, dir: string): Promise<MqttDevice> {
  const client = await mqtt.connectAsync(MQTT_URL, { clientId: `${TENANT}-${id}`, clean: true });
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const publish = client.publish.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { publish: (...args: unknown[]) => unknown }).publish = (...args) => {
    const payload = String(args[1]);
    if (payload.includes('/status/lastOperation') && payload.includes('"FINISHED_SUCCESS"'))
      finish();
    return publish(...args);
  };
  const agent = createDeviceAgent({
    client,
    tenant: TENANT,
    deviceId: id,
    softwareModuleType: 'os',
    downloadDir: join(dir, id),
    progressStep: 100,
    installer: { install: async () => ({ status: 'FINISHED_SUCCESS' }) },
  });
  await agent.start();
  return {
    done,
    async stop() {
      await agent.stop();
      await client.endAsync();
    },
  };
}

/**
 * A device behind a load balancer of `backends`: each request goes to its backend while that one
 * answers, else to the next one alive, and is sent again there. It reports its update in the
 * steps a DDI device takes, then stops.
 */
async function runDevice(id: string, backends: Backend[], first: number): Promise<void> {
  let at = first;
  const request = async (path: string, body?: unknown): Promise<Json> => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const backend = backends[at % backends.length] as Backend;
      if (!backend.alive) {
        at++;
        continue;
      }
      try {
        const res = await fetch(`${backend.url}/${TENANT}/controller/v1/${id}${path}`, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { Accept: 'application/hal+json', 'Content-Type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (res.status >= 500) throw new Error(`${res.status}`);
        return text ? JSON.parse(text) : undefined;
      } catch {
        // Connection refused or reset: the balancer sends the same request to the next backend.
        at++;
      }
    }
    throw new Error(`${id}: no backend answered`);
  };
  for (;;) {
    const root = await request('');
    const href: string | undefined = root?._links?.deploymentBase?.href;
    if (!href) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    const actionId = Number(/deploymentBase\/(\d+)/.exec(href)?.[1]);
    await request(`/deploymentBase/${actionId}`);
    for (const execution of ['download', 'downloaded', 'proceeding'])
      await request(`/deploymentBase/${actionId}/feedback`, {
        status: { execution, result: { finished: 'none' } },
      });
    await request(`/deploymentBase/${actionId}/feedback`, {
      status: { execution: 'closed', result: { finished: 'success' } },
    });
    return;
  }
}

describe.skipIf(!available)('two backends, one killed mid-update', () => {
  let database: Awaited<ReturnType<typeof scratchDatabase>> | undefined;
  const suffix = randomBytes(4).toString('hex');
  const exchange = `otaflow.two.${suffix}`;
  const queue = `otaflow_two_${suffix}`;
  const backends: Backend[] = [];
  const agents: MqttDevice[] = [];
  let dir = '';
  const events: ActionEventBody[] = [];
  let consumer: SieConsumer | undefined;

  beforeAll(async () => {
    database = await scratchDatabase('otaflow_two');
    const secret = randomBytes(24).toString('base64url');
    dir = await mkdtemp(join(tmpdir(), 'otaflow-two-'));
    for (let i = 0; i < 2; i++) {
      const args = ['--port', String(await freePort()), '--database-url', database.url];
      args.push('--tenant', TENANT, '--mqtt-url', MQTT_URL, '--data-dir', join(dir, `b${i}`));
      args.push('--amqp-url', AMQP_URL, '--sie-exchange', exchange, '--sie-queue', queue);
      args.push('--download-secret', secret, '--ddi-polling-sleep', '00:00:01');
      args.push('--log-level', 'info', '--rollout-interval', '500');
      backends.push(await start(args));
    }
    const record = (body: unknown) => {
      events.push(body as ActionEventBody);
    };
    const handlers = {
      TARGET_CREATED: () => {},
      TARGET_UPDATED: () => {},
      TARGET_DELETED: () => {},
      ACTION_CREATED: record,
      ACTION_UPDATED: record,
      UPDATE_ASSIGNMENT: () => {},
    } as SieHandlers;
    consumer = new SieConsumer({ url: AMQP_URL, queue, handlers });
    await consumer.start();
  }, 180_000);

  afterAll(async () => {
    for (const agent of agents) await agent.stop().catch(() => {});
    await consumer?.close();
    for (const backend of backends) {
      backend.app.child.kill('SIGKILL');
      await backend.app.done.catch(() => {});
    }
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('completes every update through the survivor, with every SIE event and no report twice', async () => {
    const [a, b] = backends as [Backend, Backend];
    const ids = Array.from({ length: DEVICES }, (_, i) => `two-${i}`);
    const mqttIds = Array.from({ length: MQTT_DEVICES }, (_, i) => `two-mqtt-${i}`);
    await mgmt(
      a.url,
      'POST',
      '/targets',
      ids.map((controllerId) => ({ controllerId })),
    );
    // MQTT devices register by announcing their feature, through whichever commander gets it.
    for (const id of mqttIds) agents.push(await mqttDevice(id, dir));
    for (;;) {
      const registered = await mgmt(b.url, 'GET', '/targets?q=controllerId==two-mqtt-*&limit=1');
      if (registered.total === MQTT_DEVICES) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const sm = await mgmt(b.url, 'POST', '/softwaremodules', [
      { name: 'two', version: '1', type: 'os' },
    ]);
    const ds = await mgmt(b.url, 'POST', '/distributionsets', [
      { name: 'two', version: '1', type: 'os', modules: [{ id: sm[0].id }] },
    ]);
    await mgmt(
      b.url,
      'POST',
      `/distributionsets/${ds[0].id}/assignedTargets`,
      [...ids, ...mqttIds].map((id) => ({ id })),
    );

    const devices = ids.map((id, i) => runDevice(id, backends, i));
    // Kill the first backend once a quarter of the devices are under way.
    for (;;) {
      const running = await mgmt(b.url, 'GET', '/actions?q=status==running&limit=1').catch(
        () => undefined,
      );
      const finished = await mgmt(b.url, 'GET', '/actions?q=status==finished&limit=1');
      if (finished.total >= DEVICES / 4 || (running && running.total === 0 && finished.total > 0))
        break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    a.alive = false;
    a.app.child.kill('SIGKILL');
    await a.app.done.catch(() => {});
    await Promise.all(devices);
    // The broker queued the dead backend's share of MQTT reports in its session: it comes back
    // under the same client id (the same port) and gets them.
    backends[0] = await start(a.args);
    await Promise.all(agents.map((agent) => agent.done));

    const actions: Json[] = [];
    for (const id of [...ids, ...mqttIds]) {
      const own = (await mgmt(b.url, 'GET', `/targets/${id}/actions`)).content as Json[];
      expect(own).toHaveLength(1);
      const action = own[0];
      expect(action.status).toBe('finished');
      const history = (
        await mgmt(b.url, 'GET', `/targets/${id}/actions/${action.id}/status?limit=100`)
      ).content as Json[];
      expect(history.filter((s) => s.type === 'finished')).toHaveLength(1);
      actions.push(action);
    }
    // The MQTT devices' targets are in sync once a commander has heard their last report.
    for (;;) {
      const synced = await mgmt(b.url, 'GET', '/targets?q=updateStatus==in_sync&limit=1');
      if (synced.total === DEVICES + MQTT_DEVICES) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const targets = (await mgmt(b.url, 'GET', `/targets?limit=${DEVICES + MQTT_DEVICES}`))
      .content as Json[];
    expect(targets.every((t) => t.updateStatus === 'in_sync')).toBe(true);

    // Every action's closing event reaches SIE at least once, whichever backend committed it.
    const deadline = Date.now() + 30_000;
    const closed = () =>
      new Set(
        events
          .filter((e) => e.actionStatus === 'FINISHED' && !e.actionActive)
          .map((e) => e.actionId),
      );
    while (closed().size < DEVICES + MQTT_DEVICES && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect([...closed()].sort()).toEqual(actions.map((x) => x.id).sort());
    const created = new Set(
      events.filter((e) => e.actionStatus !== undefined).map((e) => e.actionId),
    );
    expect(created.size).toBe(DEVICES + MQTT_DEVICES);
  }, 180_000);
});
