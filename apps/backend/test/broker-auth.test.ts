import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDeviceAgent,
  type DeviceAgent,
  eventTopic,
  type ReportOutcome,
  twinModify,
} from '@otaflow/iothub-mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/server.js';
import { call, seed, startTestBackend } from './helpers.js';

const TENANT = 'DEFAULT';
const DEVICE_PASSWORD = 'shared-device-password';

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Login {
  username?: string;
  password?: string;
  clientId?: string;
}

/**
 * A device that connects once (no reconnects) with `login`: its mqtt.js client is what a rogue
 * uses. The backend has no mqtt dependency of its own, so the agent brings the client.
 */
async function connect(url: string, deviceId: string, login: Login): Promise<DeviceAgent> {
  const device = createDeviceAgent({
    url,
    tenant: TENANT,
    deviceId,
    topicForm: 'explicit',
    softwareModuleType: 'os',
    installer: { async install() {} },
    mqttOptions: { reconnectPeriod: 0, connectTimeout: 5000, ...login },
  });
  await device.start();
  return device;
}

/** `ok`, or the CONNACK refusal mqtt.js reports (e.g. "Bad username or password"). */
const loginResult = (url: string, login: Login) =>
  connect(url, login.username?.split('@')[0] || 'probe', login).then(
    async (device) => {
      await device.stop({ force: true });
      return 'ok';
    },
    (error: Error) => error.message,
  );
const BAD_LOGIN = /Bad username or password/;
const ID_REJECTED = /Identifier rejected/;

describe('embedded MQTT broker: logins and topics', () => {
  let backend: Backend;
  let downloadDir: string;
  const agents: DeviceAgent[] = [];
  const outcomes: ReportOutcome[] = [];
  let release: () => void = () => {};
  const installing = new Promise<void>((resolve) => {
    release = resolve;
  });

  beforeAll(async () => {
    backend = await startTestBackend({ mqttDevicePassword: DEVICE_PASSWORD });
    backend.commander?.onReport((o) => outcomes.push(o));
    downloadDir = await mkdtemp(join(tmpdir(), 'otaflow-broker-auth-'));
  });
  afterAll(async () => {
    release();
    for (const agent of agents) await agent.stop({ force: true });
    await backend?.close();
    if (downloadDir) await rm(downloadDir, { recursive: true, force: true });
  });

  const agent = (deviceId: string, password: string, wait?: Promise<void>) => {
    const a = createDeviceAgent({
      url: backend.mqttUrl,
      tenant: TENANT,
      deviceId,
      // Hono's authenticated form (`e`, `command///req/#`): the broker maps it to this device.
      authId: deviceId,
      password,
      softwareModuleType: 'os',
      downloadDir: join(downloadDir, deviceId),
      mqttOptions: { reconnectPeriod: 200 },
      installer: {
        async install({ progress }) {
          progress(50, 'writing');
          if (wait) await wait;
        },
      },
    });
    agents.push(a);
    return a;
  };

  it('refuses a client without a login, with a wrong password, of another tenant or under the commander name', async () => {
    const url = backend.mqttUrl;
    expect(await loginResult(url, {})).toMatch(BAD_LOGIN);
    expect(await loginResult(url, { username: `dev-x@${TENANT}`, password: 'wrong' })).toMatch(
      BAD_LOGIN,
    );
    expect(await loginResult(url, { username: 'dev-x@OTHER', password: DEVICE_PASSWORD })).toMatch(
      BAD_LOGIN,
    );
    expect(await loginResult(url, { username: `dev-x`, password: DEVICE_PASSWORD })).toMatch(
      BAD_LOGIN,
    );
    expect(
      await loginResult(url, {
        username: `otaflow-commander@${TENANT}`,
        password: DEVICE_PASSWORD,
      }),
    ).toMatch(BAD_LOGIN);
    expect(
      await loginResult(url, {
        username: `dev-x@${TENANT}`,
        password: DEVICE_PASSWORD,
        clientId: `otaflow-commander-${TENANT}`,
      }),
    ).toMatch(ID_REJECTED);
    // With the shared password any well-formed device id may log in (and then register itself).
    expect(await loginResult(url, { username: `dev-x@${TENANT}`, password: DEVICE_PASSWORD })).toBe(
      'ok',
    );
  });

  it('logs a known target in with its security token, and no one else with it', async () => {
    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'token-dev' }]);
    const target = await backend.service.getTarget('token-dev');
    const token = target?.securityToken as string;
    expect(token.length).toBeGreaterThan(0);
    const url = backend.mqttUrl;
    expect(await loginResult(url, { username: `token-dev@${TENANT}`, password: token })).toBe('ok');
    expect(
      await loginResult(url, { username: `token-dev@${TENANT}`, password: `${token}x` }),
    ).toMatch(BAD_LOGIN);
    expect(await loginResult(url, { username: `other-dev@${TENANT}`, password: token })).toMatch(
      BAD_LOGIN,
    );
  });

  it('a rogue client cannot read another device’s commands nor finish its action; the device still updates', async () => {
    const victim = agent('victim-1', DEVICE_PASSWORD, installing);
    await victim.start();
    await until('the victim to register', async () =>
      (await backend.service.getTarget('victim-1'))?.channel === 'mqtt' ? true : undefined,
    );
    const { setId } = await seed(backend, [], 'rogue-fw');
    const assigned = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
      [{ id: 'victim-1' }],
    );
    expect(assigned.status).toBe(200);
    const [action] = await backend.service.listActions('victim-1');
    const actionId = action?.id as number;
    const correlationId = await until('the install to be sent', async () => {
      const view = await backend.service.getAction(actionId);
      return view?.refs['suv2.correlationId'];
    });
    await until('the victim to install', () =>
      victim.current?.status === 'INSTALLING' ? true : undefined,
    );

    // A logged-in rogue (the shared password, its own id) tries the victim's topics.
    const rogueDevice = await connect(backend.mqttUrl, 'rogue', {
      username: `rogue@${TENANT}`,
      password: DEVICE_PASSWORD,
    });
    agents.push(rogueDevice);
    const rogue = rogueDevice.client as NonNullable<DeviceAgent['client']>;
    // mqtt.js rejects a SUBACK with failures; the packet says which filters were refused.
    const granted = await rogue
      .subscribeAsync(
        [`command/${TENANT}/victim-1/req/#`, 'command/+/+/req/#', '#', `e/${TENANT}/victim-1/#`],
        { qos: 1 },
      )
      .then(
        (grants) => grants.map((g) => g.qos),
        (error: { packet?: { granted?: unknown[] } }) => error.packet?.granted,
      );
    expect(granted).toEqual([128, 128, 128, 128]);

    const forged = (thingId: string) =>
      JSON.stringify(
        twinModify({
          thingId,
          path: '/features/SoftwareUpdatable/properties/status/lastOperation',
          value: { correlationId, status: 'FINISHED_SUCCESS' },
        }),
      );
    // On its own topic, with the victim's correlationId: the commander refuses it.
    await rogue.publishAsync(
      eventTopic({ tenant: TENANT, deviceId: 'rogue' }),
      forged('otaflow:rogue'),
      {
        qos: 1,
      },
    );
    const refused = await until('the forged report on its own topic', () =>
      outcomes.find((o) => o.deviceId === 'rogue' && o.correlationId === correlationId),
    );
    expect(refused.result).toBe('refused');
    // On the victim's topic: the broker refuses the publish and closes the connection.
    const closed = new Promise<void>((resolve) => rogue.once('close', () => resolve()));
    rogue.publish(
      eventTopic({ tenant: TENANT, deviceId: 'victim-1' }),
      forged('otaflow:victim-1'),
      { qos: 1 },
    );
    await closed;
    await rogue.endAsync(true);
    expect(
      outcomes.filter((o) => o.deviceId === 'victim-1' && o.status === 'FINISHED_SUCCESS'),
    ).toEqual([]);
    expect((await backend.service.getAction(actionId))?.status).toBe('RUNNING');
    expect((await backend.service.getAction(actionId))?.active).toBe(true);

    // The victim goes on and finishes its update for real.
    release();
    const done = await until('the action to close', async () => {
      const view = await backend.service.getAction(actionId);
      return view && !view.active ? view : undefined;
    });
    expect(done.status).toBe('FINISHED');
    expect((await backend.service.getTarget('victim-1'))?.updateStatus).toBe('IN_SYNC');
  });
});
