import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACKNOWLEDGED_REF,
  CORRELATION_REF,
  createDeviceAgent,
  parseHonoTopic,
} from '../src/index.js';
import { type Fixture, fixture, okInstaller, settled } from './fixture.js';
import { requireBroker, SHARED_BROKER, sharedBrokerUp, unique, waitFor } from './helpers.js';

const up = await requireBroker(
  `Mosquitto on ${SHARED_BROKER.host}:${SHARED_BROKER.port}`,
  sharedBrokerUp,
);
const URL = `mqtt://${SHARED_BROKER.host}:${SHARED_BROKER.port}`;

describe.skipIf(!up)('commands to devices that were offline or did not answer', () => {
  let f: Fixture | undefined;
  let extra: MqttClient | undefined;
  afterEach(async () => {
    await extra?.endAsync(true);
    await f?.close();
    f = undefined;
    extra = undefined;
  });

  const logged = (message: string) => () => f?.log.lines.some((l) => l.message === message);

  it('sends the install to a device that was offline at assignment once it announces itself', async () => {
    f = await fixture(URL, {
      commander: { responseTimeoutMs: 300, commandRetry: { attempts: 2, backoffMs: 50 } },
    });
    const deviceId = unique('offline');
    await f.service.createTarget({ controllerId: deviceId, channel: 'mqtt' });
    const [action] = (await f.service.assign(f.set.id, [{ controllerId: deviceId }])).actions;
    // Nobody listens: both sends go unanswered and the commander gives up for now.
    await waitFor(
      logged('command unanswered; sent again when the device announces itself'),
      'retries exhausted',
    );
    expect((await f.service.getAction(action!.id))?.status).toBe('RUNNING');

    const installer = okInstaller();
    await f.addAgent(deviceId, installer);
    expect((await settled(f.service, action!.id)).status).toBe('FINISHED');
    expect(installer.calls).toHaveLength(1);
    const refs = (await f.service.getAction(action!.id))?.refs ?? {};
    expect(refs[ACKNOWLEDGED_REF]).toBe(`install:${refs[CORRELATION_REF]}`);
  });

  it('sends an unanswered install again with backoff until the device answers', async () => {
    f = await fixture(URL, {
      commander: { responseTimeoutMs: 300, commandRetry: { attempts: 20, backoffMs: 50 } },
    });
    const deviceId = unique('late');
    await f.service.createTarget({ controllerId: deviceId, channel: 'mqtt' });
    const [action] = (await f.service.assign(f.set.id, [{ controllerId: deviceId }])).actions;
    await waitFor(logged('command unanswered; sending again'), 'first timeout');
    // A device that never announces (so only the retries can reach it) answers from now on.
    const received: string[] = [];
    const tenant = f.tenant;
    extra = await mqtt.connectAsync(URL, { clientId: unique('late-dev') });
    extra.on('message', (topic, payload) => {
      const parsed = parseHonoTopic(topic);
      if (parsed?.kind !== 'command') return;
      received.push(JSON.parse(String(payload)).value.correlationId);
      extra?.publish(`command/${tenant}/${deviceId}/res/${parsed.requestId}/204`, '', { qos: 1 });
    });
    await extra.subscribeAsync(`command/${tenant}/${deviceId}/req/#`, { qos: 1 });
    await waitFor(
      async () => (await f?.service.getAction(action!.id))?.refs[ACKNOWLEDGED_REF],
      'acknowledged',
    );
    const refs = (await f.service.getAction(action!.id))?.refs ?? {};
    expect(received[0]).toBe(refs[CORRELATION_REF]);
    expect(refs[ACKNOWLEDGED_REF]).toBe(`install:${refs[CORRELATION_REF]}`);
  });

  it('a lost response: the device runs the install once and the action finishes', async () => {
    f = await fixture(URL, {
      commander: { responseTimeoutMs: 300, commandRetry: { attempts: 5, backoffMs: 50 } },
    });
    const deviceId = unique('lost');
    const client = await mqtt.connectAsync(URL, { clientId: unique(deviceId) });
    extra = client;
    // The device's first command response never reaches the broker.
    const publish = client.publish.bind(client);
    let dropped = 0;
    client.publish = ((topic: string, ...rest: unknown[]) => {
      if (topic.includes('/res/') && dropped++ === 0) return client;
      return (publish as (...args: unknown[]) => MqttClient)(topic, ...rest);
    }) as typeof client.publish;
    const installer = okInstaller();
    const agent = createDeviceAgent({
      client,
      tenant: f.tenant,
      deviceId,
      softwareModuleType: 'application',
      installer,
      downloadDir: `${f.downloadDir}/${deviceId}`,
    });
    f.agents.push(agent);
    await agent.start();
    await waitFor(
      async () => (await f?.service.getTarget(deviceId))?.channel === 'mqtt',
      'registered',
    );
    const [action] = (await f.service.assign(f.set.id, [{ controllerId: deviceId }])).actions;
    expect((await settled(f.service, action!.id)).status).toBe('FINISHED');
    expect(dropped).toBeGreaterThanOrEqual(1);
    expect(installer.calls).toHaveLength(1);
    // A re-sent install for the finished operation is answered and not run again.
    await f.commander.sendInstall(action!.id);
    await agent.idle();
    expect(installer.calls).toHaveLength(1);
  });
});
