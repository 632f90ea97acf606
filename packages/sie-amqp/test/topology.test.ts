import { expect, it } from 'vitest';
import {
  declareSieTopology,
  SIE_QUEUE_ARGUMENTS,
  SieConsumer,
  SiePublisher,
} from '../src/index.js';
import {
  AMQP_URL,
  brokerSuite,
  exchangeInfo,
  memoryLogger,
  namesForFile,
  queueInfo,
  rawChannel,
  uniqueName,
} from './broker.js';
import { TENANT, targetCreated } from './fixtures.js';

const { fresh } = namesForFile();

/** Runs a declaration on a channel of its own and returns the broker's refusal, if any. */
async function refusal(
  declare: (ch: Awaited<ReturnType<typeof rawChannel>>['channel']) => Promise<unknown>,
) {
  const { connection, channel } = await rawChannel();
  try {
    await declare(channel);
    return undefined;
  } catch (error) {
    return error as { code?: number; message: string };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

brokerSuite('SIE topology on RabbitMQ', { ctl: true }, () => {
  it('declares exchange, queue and binding exactly as the SIE page documents', async () => {
    const { exchange, queue } = fresh('topo');
    const publisher = new SiePublisher({
      url: AMQP_URL,
      tenant: TENANT,
      exchange,
      queue,
      logger: memoryLogger(),
    });
    await publisher.start({ timeoutMs: 10_000 });
    await publisher.close();

    expect(await exchangeInfo(exchange)).toEqual({
      name: exchange,
      type: 'fanout',
      durable: true,
      auto_delete: false,
    });
    expect(await queueInfo(queue)).toEqual({
      name: queue,
      durable: true,
      auto_delete: false,
      exclusive: false,
      arguments: { 'x-max-length': 1000, 'x-message-ttl': 86_400_000 },
    });

    // Passive declares see both; the same declaration again is accepted.
    expect(await refusal((ch) => ch.checkExchange(exchange))).toBeUndefined();
    expect(await refusal((ch) => ch.checkQueue(queue))).toBeUndefined();
    expect(await refusal((ch) => declareSieTopology(ch, { exchange, queue }))).toBeUndefined();

    // Any other arguments are refused with 406 PRECONDITION_FAILED.
    const otherArgs = [
      { durable: true, arguments: { 'x-max-length': 999, 'x-message-ttl': 86_400_000 } },
      { durable: true, arguments: { 'x-max-length': 1000 } },
      { durable: true, arguments: {} },
      { durable: false, arguments: { ...SIE_QUEUE_ARGUMENTS } },
    ];
    for (const options of otherArgs) {
      const error = await refusal((ch) => ch.assertQueue(queue, options));
      expect(error?.code, JSON.stringify(options)).toBe(406);
      expect(error?.message).toMatch(/PRECONDITION/);
    }
    expect(
      (await refusal((ch) => ch.assertExchange(exchange, 'direct', { durable: true })))?.code,
    ).toBe(406);
    expect(
      (await refusal((ch) => ch.assertExchange(exchange, 'fanout', { durable: false })))?.code,
    ).toBe(406);

    // The binding: a message to the exchange lands in the queue.
    const { connection, channel } = await rawChannel();
    channel.publish(exchange, '', Buffer.from('{}'));
    await channel.waitForConfirms();
    const got = await channel.get(queue, { noAck: true });
    expect(got ? got.content.toString() : undefined).toBe('{}');
    await connection.close();
  });

  it('drops the oldest message when more than x-max-length wait (drop-head)', async () => {
    const { exchange, queue } = fresh('maxlen');
    const publisher = new SiePublisher({
      url: AMQP_URL,
      tenant: TENANT,
      exchange,
      queue,
      queueArguments: { 'x-max-length': 5, 'x-message-ttl': 86_400_000 },
      logger: memoryLogger(),
    });
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        publisher.publish({ ...targetCreated, controllerId: `d${i}` }),
      ),
    );
    await publisher.close();
    const { connection, channel } = await rawChannel();
    const ids: string[] = [];
    for (;;) {
      const m = await channel.get(queue, { noAck: true });
      if (!m) break;
      ids.push(JSON.parse(m.content.toString()).controllerId);
    }
    await connection.close();
    expect(ids).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
  });

  it('publisher: a queue already there with other arguments is a TOPOLOGY error, not a silent redeclare', async () => {
    const { exchange, queue } = fresh('clash');
    expect(
      await refusal((ch) =>
        ch.assertQueue(queue, { durable: true, arguments: { 'x-max-length': 5 } }),
      ),
    ).toBeUndefined();
    const publisher = new SiePublisher({
      url: AMQP_URL,
      tenant: TENANT,
      exchange,
      queue,
      logger: memoryLogger(),
    });
    await expect(publisher.start({ timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'TOPOLOGY',
    });
    expect(publisher.connected).toBe(false);
    await publisher.close();
    expect((await queueInfo(queue))?.arguments).toEqual({ 'x-max-length': 5 });
  });

  it('consumer: checks the queue without redeclaring it, whatever its arguments', async () => {
    const { queue } = fresh('check');
    expect(
      await refusal((ch) =>
        ch.assertQueue(queue, { durable: true, arguments: { 'x-max-length': 7 } }),
      ),
    ).toBeUndefined();
    for (const checkQueue of [true, false]) {
      const consumer = new SieConsumer({
        url: AMQP_URL,
        queue,
        checkQueue,
        handlers: {},
        logger: memoryLogger(),
      });
      await consumer.start({ timeoutMs: 10_000 });
      expect(consumer.connected).toBe(true);
      await consumer.close();
    }
    expect((await queueInfo(queue))?.arguments).toEqual({ 'x-max-length': 7 });
  });

  it('consumer: a missing queue is reported (404) and never created', async () => {
    const queue = uniqueName('missing');
    const consumer = new SieConsumer({
      url: AMQP_URL,
      queue,
      handlers: {},
      logger: memoryLogger(),
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    await expect(consumer.start({ timeoutMs: 1500 })).rejects.toMatchObject({
      code: 'CONNECT_TIMEOUT',
    });
    await expect(consumer.start({ timeoutMs: 1 })).rejects.toThrow(/404|NOT_FOUND/);
    await consumer.close();
    expect(await queueInfo(queue)).toBeUndefined();
  });
});
