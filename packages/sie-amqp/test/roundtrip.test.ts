import { MemoryUpdateStore, UpdateService } from '@otaflow/core';
import { expect, it } from 'vitest';
import {
  SIE_TOPICS,
  type SieBodies,
  SieConsumer,
  type SieHandlerContext,
  type SieHandlers,
  SiePublisher,
  type SieTopic,
} from '../src/index.js';
import { AMQP_URL, brokerSuite, memoryLogger, namesForFile, rawChannel, until } from './broker.js';
import { ALL_EVENTS, artifactUrls, manyTargets, SEED_BODIES, TENANT } from './fixtures.js';

const { fresh } = namesForFile();

type Received = { topic: SieTopic; body: unknown; context: SieHandlerContext };

function recordingHandlers(into: Received[]): SieHandlers {
  const handlers: Record<string, (body: unknown, context: SieHandlerContext) => void> = {};
  for (const topic of SIE_TOPICS)
    handlers[topic] = (body, context) => void into.push({ topic, body, context });
  return handlers as SieHandlers;
}

brokerSuite('SIE publisher -> RabbitMQ -> consumer', {}, () => {
  it('carries all six topics with the exact headers, properties and bodies of the seed page', async () => {
    const { exchange, queue } = fresh('six');
    const publisher = new SiePublisher({
      url: AMQP_URL,
      tenant: TENANT,
      exchange,
      queue,
      artifactUrls,
      logger: memoryLogger(),
    });
    for (const event of ALL_EVENTS) await publisher.publish(event);
    expect(publisher.status()).toMatchObject({ confirmed: 6, buffered: 0, unconfirmed: 0 });
    await publisher.close();

    // First as raw AMQP: the bytes and properties on the wire.
    const { connection, channel } = await rawChannel();
    for (const topic of SIE_TOPICS) {
      const m = await channel.get(queue, { noAck: false });
      if (!m) throw new Error(`no message for ${topic}`);
      expect(m.content.toString('utf8')).toBe(SEED_BODIES[topic]);
      expect(m.properties.headers).toEqual({
        type: topic.startsWith('ACTION') ? 'ACTION_EVENT' : 'TARGET_EVENT',
        topic,
        tenant: TENANT,
      });
      expect(m.properties.contentType).toBe('application/json');
      expect(m.properties.deliveryMode).toBe(2);
      expect(m.properties.messageId).toMatch(/^[0-9a-f-]{36}$/);
      expect(m.fields.exchange).toBe(exchange);
    }
    // Put them back for the consumer.
    await channel.recover();
    await connection.close();

    const received: Received[] = [];
    const consumer = new SieConsumer({
      url: AMQP_URL,
      queue,
      handlers: recordingHandlers(received),
      logger: memoryLogger(),
    });
    await consumer.start({ timeoutMs: 10_000 });
    await until(() => received.length === 6, 'six messages');
    expect(received.map((r) => r.topic)).toEqual([...SIE_TOPICS]);
    for (const r of received) {
      expect(r.body).toEqual(JSON.parse(SEED_BODIES[r.topic]));
      expect(r.context.tenant).toBe(TENANT);
      expect(r.context.topic).toBe(r.topic);
    }
    await until(() => consumer.stats().acked === 6, 'six acks');
    expect(consumer.stats()).toMatchObject({
      received: 6,
      handled: 6,
      acked: 6,
      invalid: 0,
      unknown: 0,
    });
    await consumer.close();
    const check = await rawChannel();
    expect((await check.channel.checkQueue(queue)).messageCount).toBe(0);
    await check.connection.close();
  });

  it('sends an assignment of 2,500 targets as three messages of 1000, 1000 and 500', async () => {
    const { exchange, queue } = fresh('split');
    const publisher = new SiePublisher({
      url: AMQP_URL,
      tenant: TENANT,
      exchange,
      queue,
      logger: memoryLogger(),
    });
    await publisher.publish(manyTargets(2500));
    await publisher.close();
    const bodies: SieBodies['UPDATE_ASSIGNMENT'][] = [];
    const consumer = new SieConsumer({
      url: AMQP_URL,
      queue,
      handlers: { UPDATE_ASSIGNMENT: (body) => void bodies.push(body) },
      logger: memoryLogger(),
    });
    await consumer.start({ timeoutMs: 10_000 });
    await until(() => bodies.length === 3, 'three assignment messages');
    await consumer.close();
    expect(bodies.map((b) => b.targets.length)).toEqual([1000, 1000, 500]);
    expect(bodies.flatMap((b) => b.targets.map((t) => t.controllerId))).toEqual(
      Array.from({ length: 2500 }, (_, i) => `device-${i}`),
    );
  });

  it('publishes what UpdateService emits once attached', async () => {
    const { exchange, queue } = fresh('attach');
    let now = 1_700_000_000_000;
    const service = new UpdateService({ store: new MemoryUpdateStore(), clock: () => now++ });
    const publisher = new SiePublisher({
      url: AMQP_URL,
      tenant: TENANT,
      exchange,
      queue,
      logger: memoryLogger(),
    });
    await publisher.start({ timeoutMs: 10_000 });
    const detach = publisher.attach(service);
    const received: Received[] = [];
    const consumer = new SieConsumer({
      url: AMQP_URL,
      queue,
      handlers: recordingHandlers(received),
      logger: memoryLogger(),
    });
    await consumer.start({ timeoutMs: 10_000 });

    await service.createTarget({ controllerId: 'dev-1' });
    const module = await service.createSoftwareModule({ type: 'os', name: 'os', version: '1.0' });
    const set = await service.createDistributionSet({
      name: 'ds',
      version: '1.0',
      modules: [module.id],
    });
    await service.assign(set.id, [{ controllerId: 'dev-1' }]);
    await service.deleteTarget('dev-1');

    await until(() => received.some((r) => r.topic === 'TARGET_DELETED'), 'TARGET_DELETED');
    detach();
    await publisher.close();
    await consumer.close();
    const topics = received.map((r) => r.topic);
    for (const topic of [
      'TARGET_CREATED',
      'ACTION_CREATED',
      'TARGET_UPDATED',
      'UPDATE_ASSIGNMENT',
      'TARGET_DELETED',
    ]) {
      expect(topics).toContain(topic);
    }
    const assignmentBody = received.find((r) => r.topic === 'UPDATE_ASSIGNMENT')
      ?.body as SieBodies['UPDATE_ASSIGNMENT'];
    expect(assignmentBody.targets[0]).toMatchObject({ controllerId: 'dev-1', type: 'forced' });
    expect(assignmentBody.softwareModules[0]).toMatchObject({
      moduleId: module.id,
      moduleType: 'os',
    });
  });
});
