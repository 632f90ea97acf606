import { OutboxRelay, outboxOf } from '@otaflow/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, fixture, okInstaller, settled } from './fixture.js';
import { requireBroker, SHARED_BROKER, sharedBrokerUp, unique } from './helpers.js';

const up = await requireBroker(
  `Mosquitto on ${SHARED_BROKER.host}:${SHARED_BROKER.port}`,
  sharedBrokerUp,
);
const URL = `mqtt://${SHARED_BROKER.host}:${SHARED_BROKER.port}`;

describe.skipIf(!up)('commands from the outbox against Mosquitto', () => {
  let f: Fixture | undefined;
  let relay: OutboxRelay | undefined;
  afterEach(async () => {
    await relay?.stop();
    await f?.close();
    relay = undefined;
    f = undefined;
  });

  it('sends the install only through the relay, which completes the entry once the broker has it', async () => {
    f = await fixture(URL, { commander: { outbox: true }, outbox: { channels: ['commands'] } });
    const installer = okInstaller();
    const agent = await f.addAgent(unique('dev'), installer);
    const deviceId = agent.options.deviceId;
    const [action] = (await f.service.assign(f.set.id, [{ controllerId: deviceId }])).actions;
    // No relay yet: the commander does not act on in-process events, the command waits.
    const depth = async () => (await outboxOf(f!.store).outboxStats())[0]?.depth ?? 0;
    expect(await depth()).toBeGreaterThan(0);
    expect((await f.service.getAction(action!.id))?.status).toBe('RUNNING');
    relay = new OutboxRelay({
      store: f.store,
      channel: 'commands',
      sink: f.commander.outboxSink(),
    }).start();
    const done = await settled(f.service, action!.id);
    expect(done.status).toBe('FINISHED');
    expect(installer.calls).toEqual(['app@1.2.0:app.bin']);
    expect(relay.stats().delivered).toBeGreaterThan(0);
  });
});
