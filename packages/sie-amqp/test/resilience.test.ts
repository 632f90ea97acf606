import { expect, it } from 'vitest';
import { SieConsumer, SiePublisher } from '../src/index.js';
import {
  AMQP_URL,
  brokerSuite,
  forceCloseConnections,
  memoryLogger,
  namesForFile,
  rawChannel,
  uniqueName,
  until,
} from './broker.js';
import { TENANT, targetCreated } from './fixtures.js';

const { fresh } = namesForFile();

brokerSuite('broker force-closes connections mid-stream', { ctl: true }, () => {
  it('loses nothing confirmed, and publisher and consumer both resume', async () => {
    const { exchange, queue } = fresh('resil');
    const run = uniqueName('conn');
    const publisher = new SiePublisher({
      url: AMQP_URL,
      tenant: TENANT,
      exchange,
      queue,
      // A larger x-max-length than the page's 1000: drop-head would otherwise be a second,
      // documented way to lose messages, and this test is about connection loss.
      queueArguments: { 'x-max-length': 100_000, 'x-message-ttl': 86_400_000 },
      connectionName: `${run}-pub`,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      logger: memoryLogger(),
    });
    await publisher.start({ timeoutMs: 10_000 });

    const firstSeen: number[] = [];
    const seen = new Set<number>();
    let deliveries = 0;
    const consumer = new SieConsumer({
      url: AMQP_URL,
      queue,
      prefetch: 20,
      connectionName: `${run}-con`,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      handlers: {
        TARGET_UPDATED: async (body) => {
          deliveries++;
          const n = Number(body.controllerId.slice(2));
          if (!seen.has(n)) {
            seen.add(n);
            firstSeen.push(n);
          }
          // A little work per message keeps deliveries unacknowledged when the cut comes.
          if (n % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        },
      },
      logger: memoryLogger(),
    });
    await consumer.start({ timeoutMs: 10_000 });

    const confirmed = new Set<number>();
    const failures: unknown[] = [];
    const publishes: Promise<void>[] = [];
    let cut: Promise<number[]> | undefined;
    let cutDoneAt = -1;
    let published = 0;
    // Publish until well after the cut completed: the stream runs before, during and after it.
    for (let n = 0; n <= 1000 || cutDoneAt < 0 || n < cutDoneAt + 500; n++) {
      if (n > 50_000) throw new Error('the cut never completed');
      publishes.push(
        publisher
          .publish({ ...targetCreated, type: 'TARGET_UPDATED', controllerId: `d-${n}` })
          .then(
            () => void confirmed.add(n),
            (error: unknown) => void failures.push(error),
          ),
      );
      published = n + 1;
      // Paced, so that the stream is still flowing while rabbitmqctl does its work.
      if (n % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 1));
      if (n === 1000) {
        await until(() => seen.size > 200, 'the consumer to be mid-stream');
        cut = Promise.all([
          forceCloseConnections(`${run}-pub`),
          forceCloseConnections(`${run}-con`),
        ]);
        cut.then(() => {
          cutDoneAt = published;
        });
      }
    }
    const total = published;
    expect(await cut).toEqual([1, 1]);
    // The cut landed inside the stream, not after it.
    expect(cutDoneAt).toBeGreaterThan(1000);
    await Promise.all(publishes);
    expect(failures).toEqual([]);
    expect(confirmed.size).toBe(total);

    await until(() => seen.size === total, `all ${total} messages at the consumer`, 30_000);
    for (const n of confirmed) expect(seen.has(n)).toBe(true);
    // In order: first deliveries never go backwards (later copies are at-least-once duplicates).
    expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
    expect(publisher.status().reconnects).toBeGreaterThanOrEqual(1);
    expect(consumer.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(consumer.connected).toBe(true);
    await publisher.close();
    await until(() => consumer.stats().acked + 0 >= total, 'acks');
    await consumer.close();
    const { connection, channel } = await rawChannel();
    expect((await channel.checkQueue(queue)).messageCount).toBe(0);
    await connection.close();
    console.info(
      `resilience: ${total} confirmed, ${deliveries} deliveries (${deliveries - total} duplicates), ` +
        `publisher reconnects ${publisher.status().reconnects}, consumer reconnects ${consumer.stats().reconnects}`,
    );
  });
});
