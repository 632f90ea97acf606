import amqp from 'amqplib';
import mqtt from 'mqtt';

/**
 * Raw mqtt.js throughput through the same broker: `publishers` connections publish QoS 1 messages
 * of `bytes` bytes to one subscriber (the shape of devices reporting to one commander). Counted
 * until the subscriber has them all, or `maxMs`.
 */
export async function rawMqttThroughput(options: {
  url: string;
  run: string;
  messages: number;
  publishers: number;
  bytes: number;
  maxMs: number;
}): Promise<{ perSecond: number; received: number; seconds: number }> {
  const topic = `fleet-bench/${options.run}/raw`;
  const connect = (id: string, extra: mqtt.IClientOptions = {}) =>
    mqtt.connectAsync(options.url, {
      clientId: `${options.run}-${id}`,
      clean: true,
      reconnectPeriod: 0,
      ...extra,
    });
  // MQTT 5 with a large receive maximum, as the backend's commander connects: a 3.1.1 subscriber
  // gets 20 in flight and Mosquitto drops what exceeds its 1000-message queue.
  const sub = await connect('sub', { protocolVersion: 5, properties: { receiveMaximum: 65535 } });
  const pubs = await Promise.all(
    Array.from({ length: options.publishers }, (_, i) => connect(`pub${i}`)),
  );
  try {
    await sub.subscribeAsync(`${topic}/#`, { qos: 1 });
    let received = 0;
    let resolveAll: () => void = () => {};
    const all = new Promise<void>((r) => {
      resolveAll = r;
    });
    sub.on('message', () => {
      if (++received === options.messages) resolveAll();
    });
    const payload = Buffer.alloc(options.bytes, 'x');
    const started = performance.now();
    const deadline = started + options.maxMs;
    const perPub = Math.ceil(options.messages / options.publishers);
    await Promise.all(
      pubs.map(async (pub, p) => {
        // 32 in flight per connection, like an agent's outbox times a few devices.
        const inFlight = new Set<Promise<unknown>>();
        for (let i = 0; i < perPub && p * perPub + i < options.messages; i++) {
          if (performance.now() > deadline) break;
          const sent: Promise<unknown> = pub
            .publishAsync(`${topic}/${p}`, payload, { qos: 1 })
            .finally(() => inFlight.delete(sent));
          inFlight.add(sent);
          if (inFlight.size >= 32) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
      }),
    );
    await Promise.race([
      all,
      new Promise((r) => setTimeout(r, Math.max(0, deadline - performance.now()))),
    ]);
    const seconds = (performance.now() - started) / 1000;
    return { perSecond: received / seconds, received, seconds };
  } finally {
    await Promise.allSettled([sub, ...pubs].map((c) => c.endAsync(true)));
  }
}

/**
 * Raw amqplib throughput on a confirm channel: persistent messages of `bytes` bytes to a fanout
 * exchange with one bound queue (the SIE topology), `window` unconfirmed at most. Exchange and
 * queue are unique to the run and deleted afterwards.
 */
export async function rawAmqpThroughput(options: {
  url: string;
  run: string;
  messages: number;
  bytes: number;
  window: number;
  maxMs: number;
}): Promise<{ perSecond: number; confirmed: number; seconds: number }> {
  const exchange = `fleet-bench.${options.run}.raw`;
  const queue = `${exchange}.q`;
  const connection = await amqp.connect(options.url);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertExchange(exchange, 'fanout', { durable: true, autoDelete: false });
    await channel.assertQueue(queue, { durable: true, autoDelete: false });
    await channel.bindQueue(queue, exchange, '');
    const payload = Buffer.alloc(options.bytes, 'x');
    const started = performance.now();
    const deadline = started + options.maxMs;
    let confirmed = 0;
    for (let sent = 0; sent < options.messages && performance.now() < deadline; ) {
      const batch = Math.min(options.window, options.messages - sent);
      for (let i = 0; i < batch; i++)
        channel.publish(exchange, '', payload, {
          persistent: true,
          contentType: 'application/json',
          headers: { type: 'ACTION_EVENT', topic: 'ACTION_UPDATED', tenant: 'DEFAULT' },
        });
      sent += batch;
      await channel.waitForConfirms();
      confirmed += batch;
    }
    const seconds = (performance.now() - started) / 1000;
    await channel.deleteQueue(queue);
    await channel.deleteExchange(exchange);
    return { perSecond: confirmed / seconds, confirmed, seconds };
  } finally {
    await connection.close().catch(() => {});
  }
}
