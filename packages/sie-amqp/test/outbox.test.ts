import { MemoryUpdateStore, OutboxRelay, UpdateService } from '@otaflow/core';
import { expect, it } from 'vitest';
import {
  outboxMessageId,
  SIE_TOPICS,
  SieConsumer,
  type SieHandlers,
  SiePublisher,
} from '../src/index.js';
import { AMQP_URL, brokerSuite, memoryLogger, namesForFile, until } from './broker.js';
import { TENANT } from './fixtures.js';

const { fresh } = namesForFile();

brokerSuite('SIE from the outbox -> RabbitMQ -> consumer', {}, () => {
  it('a batch published but never completed is sent again after the lease with the same message ids, and the consumer handles each once', async () => {
    const { exchange, queue } = fresh('outbox');
    const store = new MemoryUpdateStore();
    const service = new UpdateService({ store, outbox: { channels: ['sie'] } });
    const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
    const set = await service.createDistributionSet({
      name: 'fw',
      version: '1',
      modules: [module.id],
    });
    await service.createTarget({ controllerId: 'd1' });
    await service.assign(set.id, [{ controllerId: 'd1' }]);

    // The first backend publishes the batch, the broker confirms it, and the backend dies before
    // it completes the entries: its sink never returns.
    const first = new SiePublisher({ url: AMQP_URL, tenant: TENANT, exchange, queue });
    let firstIds: string[] = [];
    let published = 0;
    const dying = new OutboxRelay({
      store,
      channel: 'sie',
      leaseMs: 300,
      sink: async (entries) => {
        await first.publishOutbox(entries);
        firstIds = entries.map((e) => outboxMessageId(TENANT, e.id, 0));
        published = first.status().confirmed;
        await new Promise<void>(() => {});
      },
    }).start();
    await until(() => published > 0, 'the first publish confirmed');
    await first.close();
    expect(published).toBe(4); // TARGET_CREATED, ACTION_CREATED, TARGET_UPDATED, UPDATE_ASSIGNMENT

    // The second backend takes the entries over once the lease has run out and sends them again.
    const second = new SiePublisher({ url: AMQP_URL, tenant: TENANT, exchange, queue });
    const heir = new OutboxRelay({ store, channel: 'sie', pollMs: 20, sink: second.outboxSink() });
    heir.start();
    await until(() => heir.stats().delivered === 4, 'the resend completed');
    await heir.stop();
    await second.close();

    const handled: string[] = [];
    const handlers: Record<
      string,
      (body: unknown, context: { message: { properties: { messageId?: string } } }) => void
    > = {};
    for (const topic of SIE_TOPICS)
      handlers[topic] = (_body, { message }) =>
        void handled.push(String(message.properties.messageId));
    const consumer = new SieConsumer({
      url: AMQP_URL,
      queue,
      handlers: handlers as unknown as SieHandlers,
      logger: memoryLogger(),
    });
    await consumer.start({ timeoutMs: 10_000 });
    await until(() => consumer.stats().acked === 8, 'eight deliveries');
    await consumer.close();
    expect(handled).toHaveLength(4);
    expect(new Set(handled).size).toBe(4);
    expect(handled).toEqual(expect.arrayContaining(firstIds));
    expect(consumer.stats()).toMatchObject({ duplicates: 4, handled: 4 });
    expect(dying.stats().delivered).toBe(0);
  });
});
