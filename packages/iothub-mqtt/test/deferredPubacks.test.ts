import mqtt, { type MqttClient, type Packet } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { DeferredPubacks, IotHubError, type PubackSlot } from '../src/index.js';
import { requireBroker, SHARED_BROKER, sharedBrokerUp, unique, waitFor } from './helpers.js';

const up = await requireBroker(
  `Mosquitto on ${SHARED_BROKER.host}:${SHARED_BROKER.port}`,
  sharedBrokerUp,
);
const URL = `mqtt://${SHARED_BROKER.host}:${SHARED_BROKER.port}`;

interface Received {
  payload: string;
  slot: PubackSlot | undefined;
}

/** A persistent MQTT 5 session whose QoS 1 deliveries are acknowledged by the test only. */
async function deferredSubscriber(topic: string) {
  const client = mqtt.connect(URL, {
    clientId: unique('deferred'),
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 60 },
    reconnectPeriod: 100,
  });
  const received: Received[] = [];
  const pubacks = new DeferredPubacks(client, (_topic, payload, slot) =>
    received.push({ payload: String(payload), slot }),
  );
  const pubackIds: number[] = [];
  client.on('packetsend', (packet: Packet) => {
    if (packet.cmd === 'puback') pubackIds.push(packet.messageId as number);
  });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  await client.subscribeAsync(topic, { qos: 1 });
  return { client, pubacks, received, pubackIds };
}

describe.skipIf(!up)('DeferredPubacks (the one place that calls mqtt.js _sendPacket)', () => {
  const clients: MqttClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true);
  });

  it('sends PUBACKs only once processed, in arrival order, whatever order processing ends in', async () => {
    const topic = unique('deferred/order');
    const sub = await deferredSubscriber(topic);
    clients.push(sub.client);
    const pub = await mqtt.connectAsync(URL, { clientId: unique('pub') });
    clients.push(pub);
    for (const payload of ['m0', 'm1', 'm2']) await pub.publishAsync(topic, payload, { qos: 1 });
    await waitFor(() => sub.received.length === 3, 'three deliveries');

    expect(sub.received.map((r) => r.payload)).toEqual(['m0', 'm1', 'm2']);
    expect(sub.pubackIds).toEqual([]);
    expect(sub.pubacks.owed).toBe(3);
    const [m0, m1, m2] = sub.received.map((r) => r.slot as PubackSlot);
    sub.pubacks.ack(m2 as PubackSlot);
    sub.pubacks.ack(m1 as PubackSlot);
    // The oldest is still in work: nothing may overtake it.
    expect(sub.pubackIds).toEqual([]);
    sub.pubacks.ack(m0 as PubackSlot);
    expect(sub.pubackIds).toEqual([m0?.messageId, m1?.messageId, m2?.messageId]);
    expect(sub.pubacks.owed).toBe(0);
  });

  it('hands QoS 0 messages on without a slot', async () => {
    const topic = unique('deferred/qos0');
    const sub = await deferredSubscriber(topic);
    clients.push(sub.client);
    const pub = await mqtt.connectAsync(URL, { clientId: unique('pub') });
    clients.push(pub);
    await pub.publishAsync(topic, 'fire and forget', { qos: 0 });
    await waitFor(() => sub.received.length === 1, 'the delivery');
    expect(sub.received[0]).toEqual({ payload: 'fire and forget', slot: undefined });
    expect(sub.pubacks.owed).toBe(0);
  });

  it('an unacknowledged delivery comes again after a reconnect; the old slot sends nothing', async () => {
    const topic = unique('deferred/redeliver');
    const sub = await deferredSubscriber(topic);
    clients.push(sub.client);
    const pub = await mqtt.connectAsync(URL, { clientId: unique('pub') });
    clients.push(pub);
    await pub.publishAsync(topic, 'report', { qos: 1 });
    await waitFor(() => sub.received.length === 1, 'first delivery');

    // The connection drops before the report was processed (mqtt.js reconnects on its own).
    const reconnected = new Promise<void>((resolve) => sub.client.once('connect', () => resolve()));
    sub.client.stream.destroy();
    await reconnected;
    await waitFor(() => sub.received.length === 2, 'the delivery again, same session');
    expect(sub.received[1]?.payload).toBe('report');

    sub.pubacks.ack(sub.received[0]?.slot as PubackSlot);
    expect(sub.pubackIds).toEqual([]);
    sub.pubacks.ack(sub.received[1]?.slot as PubackSlot);
    expect(sub.pubackIds).toEqual([sub.received[1]?.slot?.messageId]);

    // Acknowledged now: a further reconnect delivers nothing more. (A round trip first, so the
    // broker has read the PUBACK before the connection goes.)
    await sub.client.publishAsync(unique('deferred/flush'), '', { qos: 1 });
    const again = new Promise<void>((resolve) => sub.client.once('connect', () => resolve()));
    sub.client.stream.destroy();
    await again;
    await pub.publishAsync(topic, 'marker', { qos: 1 });
    await waitFor(() => sub.received.length === 3, 'the marker');
    expect(sub.received.map((r) => r.payload)).toEqual(['report', 'report', 'marker']);
  });

  it('fails clearly, before taking the client over, when mqtt.js has no _sendPacket', async () => {
    const client = mqtt.connect(URL, { clientId: unique('nosend'), manualConnect: true });
    const handleMessage = client.handleMessage;
    Object.defineProperty(client, '_sendPacket', { value: undefined });
    let thrown: unknown;
    try {
      new DeferredPubacks(client, () => {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(IotHubError);
    expect(thrown).toMatchObject({ code: 'UNSUPPORTED_CLIENT' });
    expect((thrown as Error).message).toMatch(/_sendPacket/);
    expect(client.handleMessage).toBe(handleMessage);
  });

  it('the pinned mqtt.js still has the private method', () => {
    const client = mqtt.connect(URL, { clientId: unique('pinned'), manualConnect: true });
    expect(typeof (client as unknown as { _sendPacket?: unknown })._sendPacket).toBe('function');
  });
});
