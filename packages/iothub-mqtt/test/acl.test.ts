import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommander, createDeviceAgent } from '../src/index.js';
import { okInstaller, settled } from './fixture.js';
import {
  ArtifactServer,
  catalogue,
  freePort,
  mosquittoBinary,
  OwnBroker,
  requireBroker,
  unique,
  waitFor,
} from './helpers.js';

const up = await requireBroker('/usr/sbin/mosquitto (ACL example broker)', mosquittoBinary);
const EXAMPLE = fileURLToPath(new URL('../examples/mosquitto-acl/', import.meta.url));

describe.skipIf(!up)('the Mosquitto ACL example', () => {
  let broker: OwnBroker;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otaflow-acl-'));
    for (const file of ['acl', 'passwords']) await copyFile(join(EXAMPLE, file), join(dir, file));
    const port = await freePort();
    const conf = (await readFile(join(EXAMPLE, 'mosquitto.conf'), 'utf8'))
      .replace(/^listener \d+/m, `listener ${port}`)
      .replace(/^password_file .*/m, `password_file ${join(dir, 'passwords')}`)
      .replace(/^acl_file .*/m, `acl_file ${join(dir, 'acl')}`);
    await writeFile(join(dir, 'mosquitto.conf'), `user ${userInfo().username}\n${conf}`);
    broker = new OwnBroker(port, join(dir, 'mosquitto.conf'));
    await broker.start();
  });
  afterAll(async () => broker?.stop());

  const login = (username: string) => ({
    username,
    password: `${username}-secret`,
    clientId: unique(username),
  });

  it('refuses unknown users', async () => {
    await expect(
      mqtt.connectAsync(broker.url, { username: 'mallory', password: 'x', reconnectPeriod: 0 }),
    ).rejects.toThrow();
  });

  it('lets a device use only its own topics', async () => {
    const spy = await mqtt.connectAsync(broker.url, {
      ...login('commander'),
      password: 'commander-secret',
    });
    const seen: string[] = [];
    spy.on('message', (topic, payload) => seen.push(`${topic} ${payload}`));
    await spy.subscribeAsync(['e/acme/+/#', 'command/acme/+/res/#', 'command/acme/+/req/#'], {
      qos: 1,
    });
    const devA = await mqtt.connectAsync(broker.url, login('dev-a'));
    const devAInbox: string[] = [];
    devA.on('message', (topic) => devAInbox.push(topic));

    // Mosquitto 2.0 grants these SUBACKs but checks the read ACL on every delivery: dev-a still
    // never receives dev-b's commands (asserted below).
    await devA.subscribeAsync(['command/acme/dev-b/req/#', 'command/acme/+/req/#'], { qos: 1 });
    const own = await devA.subscribeAsync('command/acme/dev-a/req/#', { qos: 1 });
    expect(own[0]?.qos).toBe(1);

    // Spoofed report and response as dev-b, then a legitimate report; order per client is kept,
    // so once the last one arrived the spoofed ones would have arrived too.
    await devA.publishAsync('e/acme/dev-b', 'spoofed report', { qos: 1 });
    await devA.publishAsync('command/acme/dev-b/res/r1/204', 'spoofed response', { qos: 1 });
    await devA.publishAsync('command/acme/dev-a/req/r2/install', 'device may not send commands', {
      qos: 1,
    });
    await devA.publishAsync('e/acme/dev-a', 'own report', { qos: 1 });
    await waitFor(() => seen.length > 0, 'own report');
    expect(seen).toEqual(['e/acme/dev-a own report']);

    // A command for dev-b does not reach dev-a.
    await spy.publishAsync('command/acme/dev-b/req/r3/install', '{}', { qos: 1 });
    await spy.publishAsync('command/acme/dev-a/req/r4/install', '{}', { qos: 1 });
    await waitFor(() => devAInbox.length > 0, 'own command');
    await new Promise((r) => setTimeout(r, 200));
    expect(devAInbox.length).toBeGreaterThan(0);
    expect(devAInbox.every((topic) => topic === 'command/acme/dev-a/req/r4/install')).toBe(true);
    await devA.endAsync();
    await spy.endAsync();
  });

  it('still carries a whole install between the commander and a device', async () => {
    const server = await new ArtifactServer().start();
    const { service, set } = await catalogue(server, Buffer.from('acl artifact'));
    const commander = createCommander({
      url: broker.url,
      mqttOptions: { username: 'commander', password: 'commander-secret' },
      service,
      tenant: 'acme',
      artifactUrl: (m, a) => `${server.url}/${m.id}/${a.filename}`,
    });
    await commander.start();
    const agent = createDeviceAgent({
      url: broker.url,
      mqttOptions: { username: 'dev-b', password: 'dev-b-secret' },
      tenant: 'acme',
      deviceId: 'dev-b',
      softwareModuleType: 'application',
      installer: okInstaller(),
      downloadDir: await mkdtemp(join(tmpdir(), 'otaflow-acl-dl-')),
    });
    try {
      await agent.start();
      await waitFor(() => service.getTarget('dev-b'), 'dev-b registered');
      const [action] = (await service.assign(set.id, [{ controllerId: 'dev-b' }])).actions;
      expect((await settled(service, action!.id)).status).toBe('FINISHED');
      expect((await service.getTarget('dev-b'))?.updateStatus).toBe('IN_SYNC');
    } finally {
      await agent.stop();
      await commander.stop();
      await server.stop();
    }
  });
});
