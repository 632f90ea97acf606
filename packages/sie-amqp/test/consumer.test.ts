import type { Options } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { SieConsumer, SieError, SiePublisher } from '../src/index.js';
import { AMQP_URL, brokerSuite, memoryLogger, namesForFile, rawChannel, until } from './broker.js';
import { SEED_BODIES, TENANT, targetCreated } from './fixtures.js';

const scoped = namesForFile();

/** A queue with the SIE arguments, declared the way Bosch would, plus a raw publisher to it. */
async function sieQueue(label: string) {
  const queue = scoped.queue(label);
  const raw = await rawChannel();
  await raw.channel.assertQueue(queue, {
    durable: true,
    arguments: { 'x-max-length': 1000, 'x-message-ttl': 86_400_000 },
  });
  const send = async (
    headers: Record<string, unknown>,
    body: string,
    extra: Options.Publish = {},
  ) => {
    raw.channel.sendToQueue(queue, Buffer.from(body), {
      contentType: 'application/json',
      headers,
      ...extra,
    });
    await raw.channel.waitForConfirms();
  };
  const ready = async () => (await raw.channel.checkQueue(queue)).messageCount;
  return { queue, raw, send, ready };
}

const headersOf = (topic: string) => ({ type: 'TARGET_EVENT', topic, tenant: TENANT });

brokerSuite('SieConsumer on RabbitMQ', {}, () => {
  it('acknowledges and logs unknown topics, and handles what follows them', async () => {
    const q = await sieQueue('unknown');
    await q.send(headersOf('TARGET_TELEPORTED'), '{"anything":true}');
    await q.send(headersOf('TARGET_CREATED'), SEED_BODIES.TARGET_CREATED);
    const logger = memoryLogger();
    const seen: string[] = [];
    const consumer = new SieConsumer({
      url: AMQP_URL,
      queue: q.queue,
      handlers: { TARGET_CREATED: (body) => void seen.push(body.controllerId) },
      logger,
    });
    await consumer.start({ timeoutMs: 10_000 });
    await until(() => consumer.stats().acked === 2, 'two acks');
    await consumer.close();
    expect(seen).toEqual(['test_device']);
    expect(consumer.stats()).toMatchObject({ received: 2, unknown: 1, handled: 1, invalid: 0 });
    expect(logger.lines.some((l) => l.details?.topic === 'TARGET_TELEPORTED')).toBe(true);
    expect(await q.ready()).toBe(0);
    await q.raw.connection.close();
  });

  it('without a dead-letter target: logs, acknowledges and counts invalid messages', async () => {
    const q = await sieQueue('invalid');
    await q.send(headersOf('TARGET_CREATED'), 'not json');
    await q.send(headersOf('ACTION_UPDATED'), '{"actionId":"ninety-nine"}');
    await q.send({ topic: 'TARGET_CREATED' }, SEED_BODIES.TARGET_CREATED); // no tenant header
    const logger = memoryLogger();
    let calls = 0;
    const consumer = new SieConsumer({
      url: AMQP_URL,
      queue: q.queue,
      handlers: { TARGET_CREATED: () => void calls++, ACTION_UPDATED: () => void calls++ },
      logger,
    });
    await consumer.start({ timeoutMs: 10_000 });
    await until(() => consumer.stats().acked === 3, 'three acks');
    await consumer.close();
    expect(calls).toBe(0);
    expect(consumer.stats()).toMatchObject({ invalid: 3, deadLettered: 0, handled: 0 });
    const errors = logger.lines
      .filter((l) => l.level === 'error')
      .map((l) => String(l.details?.reason));
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/not JSON/);
    expect(errors[1]).toMatch(/invalid ACTION_UPDATED body/);
    expect(errors[2]).toMatch(/invalid headers/);
    expect(await q.ready()).toBe(0);
    await q.raw.connection.close();
  });

  it('with a dead-letter target: republishes invalid messages there with the reason, then acknowledges', async () => {
    const q = await sieQueue('dlx');
    const { exchange: dlExchange, queue: dlQueue } = scoped.fresh('dl');
    await q.raw.channel.assertExchange(dlExchange, 'direct', { durable: false });
    await q.raw.channel.assertQueue(dlQueue, { durable: false });
    await q.raw.channel.bindQueue(dlQueue, dlExchange, 'sie.invalid');
    await q.send(
      headersOf('TARGET_UPDATED'),
      '{"controllerId":"x","updateStatus":"SLEEPY","timestamp":1}',
      {
        messageId: 'bad-1',
      },
    );
    await q.send(headersOf('TARGET_UPDATED'), SEED_BODIES.TARGET_UPDATED);
    const consumer = new SieConsumer({
      url: AMQP_URL,
      queue: q.queue,
      handlers: { TARGET_UPDATED: () => undefined },
      deadLetter: { exchange: dlExchange, routingKey: 'sie.invalid' },
      logger: memoryLogger(),
    });
    await consumer.start({ timeoutMs: 10_000 });
    await until(() => consumer.stats().acked === 2, 'two acks');
    await consumer.close();
    expect(consumer.stats()).toMatchObject({ invalid: 1, deadLettered: 1, handled: 1 });
    const dead = await q.raw.channel.get(dlQueue, { noAck: true });
    if (!dead) throw new Error('nothing dead-lettered');
    expect(dead.content.toString()).toBe(
      '{"controllerId":"x","updateStatus":"SLEEPY","timestamp":1}',
    );
    expect(dead.properties.messageId).toBe('bad-1');
    expect(dead.properties.headers).toMatchObject({
      ...headersOf('TARGET_UPDATED'),
      'x-sie-source-queue': q.queue,
    });
    expect(String(dead.properties.headers?.['x-sie-invalid-reason'])).toMatch(/updateStatus/);
    expect(await q.ready()).toBe(0);
    await q.raw.connection.close();
  });

  it('acknowledges only after the handler resolved: a rejected or unfinished handler gets the message back', async () => {
    const q = await sieQueue('ack');
    await q.send(headersOf('TARGET_CREATED'), SEED_BODIES.TARGET_CREATED);
    let attempts = 0;
    const redelivered: boolean[] = [];
    const consumer = new SieConsumer({
      url: AMQP_URL,
      queue: q.queue,
      retryDelayMs: 50,
      handlers: {
        TARGET_CREATED: (_body, { message }) => {
          redelivered.push(message.fields.redelivered);
          if (++attempts === 1) throw new Error('database away');
        },
      },
      logger: memoryLogger(),
    });
    await consumer.start({ timeoutMs: 10_000 });
    await until(() => consumer.stats().acked === 1, 'the retried message acked');
    await consumer.close();
    expect(redelivered).toEqual([false, true]);
    expect(consumer.stats()).toMatchObject({ failed: 1, handled: 1, acked: 1 });

    // A handler still running when the consumer goes leaves the message in the queue.
    await q.send(headersOf('TARGET_CREATED'), SEED_BODIES.TARGET_CREATED);
    let entered = false;
    const stuck = new SieConsumer({
      url: AMQP_URL,
      queue: q.queue,
      closeTimeoutMs: 100,
      handlers: {
        TARGET_CREATED: () => {
          entered = true;
          return new Promise<void>(() => undefined);
        },
      },
      logger: memoryLogger(),
    });
    await stuck.start({ timeoutMs: 10_000 });
    await until(() => entered, 'the handler to start');
    expect(await q.ready()).toBe(0); // delivered, unacknowledged
    await stuck.close();
    await until(async () => (await q.ready()) === 1, 'the message back in the queue');
    expect(stuck.stats().acked).toBe(0);
    await q.raw.connection.close();
  });

  it('de-duplicates by message id, and by content when there is none', async () => {
    const q = await sieQueue('dedupe');
    for (const messageId of ['m-1', 'm-1', 'm-2']) {
      await q.send(headersOf('TARGET_CREATED'), SEED_BODIES.TARGET_CREATED, { messageId });
    }
    await q.send(headersOf('TARGET_DELETED'), SEED_BODIES.TARGET_DELETED);
    await q.send(headersOf('TARGET_DELETED'), SEED_BODIES.TARGET_DELETED);
    const handled: string[] = [];
    const consumer = new SieConsumer({
      url: AMQP_URL,
      queue: q.queue,
      dedupe: { size: 100 },
      handlers: {
        TARGET_CREATED: (_b, { message }) =>
          void handled.push(String(message.properties.messageId)),
        TARGET_DELETED: () => void handled.push('deleted'),
      },
      logger: memoryLogger(),
    });
    await consumer.start({ timeoutMs: 10_000 });
    await until(() => consumer.stats().acked === 5, 'five acks');
    await consumer.close();
    expect(handled).toEqual(['m-1', 'm-2', 'deleted']);
    expect(consumer.stats()).toMatchObject({ duplicates: 2, handled: 3 });
    await q.raw.connection.close();
  });
});

describe('SiePublisher while the broker is away (no broker needed)', () => {
  it('buffers in order up to bufferSize, then refuses with BUFFER_FULL; close() fails clearly', async () => {
    // Port 1 on loopback: nothing listens, so every connect is refused at once.
    const publisher = new SiePublisher({
      url: 'amqp://guest:guest@127.0.0.1:1',
      tenant: TENANT,
      bufferSize: 3,
      closeTimeoutMs: 200,
      reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
      logger: memoryLogger(),
    });
    const accepted = [1, 2, 3].map((i) =>
      publisher.publish({ ...targetCreated, controllerId: `d${i}` }),
    );
    const settled = Promise.allSettled(accepted);
    await expect(publisher.publish(targetCreated)).rejects.toMatchObject({ code: 'BUFFER_FULL' });
    expect(publisher.status()).toMatchObject({ connected: false, buffered: 3, unconfirmed: 0 });
    await expect(publisher.start({ timeoutMs: 100 })).rejects.toMatchObject({
      code: 'CONNECT_TIMEOUT',
    });
    const closing = publisher.close();
    await expect(publisher.publish(targetCreated)).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(closing).rejects.toMatchObject({ code: 'FLUSH_FAILED' });
    for (const result of await settled) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(SieError);
      expect((result as PromiseRejectedResult).reason.code).toBe('FLUSH_FAILED');
    }
    expect(() => new SiePublisher({ url: AMQP_URL, tenant: '' })).toThrow(SieError);
  });
});
