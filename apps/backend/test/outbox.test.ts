import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outboxOf, silentLogger } from '@otaflow/core';
import { createSieConsumer, createSiePublisher } from '@otaflow/sie-amqp';
import { expect, it } from 'vitest';
import { type BackendConfigInput, parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { openBackendStore } from '../src/openBackendStore.js';
import { startBackend } from '../src/server.js';
import { call, seed } from './helpers.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function open(input: BackendConfigInput) {
  const config = parseConfig({ port: 0, host: '127.0.0.1', logLevel: 'silent', ...input });
  const state = await openBackendStore(config, { logger: silentLogger });
  const backend = await startBackend(config, {
    logger: createLogger({ level: 'silent' }),
    store: state.store,
    amqpConnectTimeoutMs: 500,
    ...(state.artifactsDir ? { artifactsDir: state.artifactsDir } : {}),
    ...(state.outboxWakeups ? { outboxWakeups: state.outboxWakeups } : {}),
  });
  return {
    backend,
    store: state.store,
    close: async () => {
      await backend.close();
      await state.close();
    },
  };
}

it('keeps the SIE events of a backend whose broker is away in the outbox, and the next start sends them', async () => {
  const id = `ob-${randomUUID().slice(0, 8)}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'otaflow-outbox-'));
  const exchange = `${id}.exchange`;
  try {
    // First run: the broker's address answers nothing.
    const first = await open({ dataDir, tenant: id, amqpUrl: 'amqp://guest:guest@127.0.0.1:1' });
    expect(first.backend.sie).toBe(false);
    const { setId } = await seed(first.backend, ['ob-1', 'ob-2']);
    const assigned = await call(
      first.backend,
      'POST',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
      [{ id: 'ob-1' }, { id: 'ob-2' }],
    );
    expect(assigned.status).toBe(200);
    const waiting = (await first.backend.outbox?.backlog())?.find((s) => s.channel === 'sie');
    // Two TARGET_CREATED; per target ACTION_CREATED and TARGET_UPDATED; one UPDATE_ASSIGNMENT.
    expect(waiting?.depth).toBe(7);
    await first.close();

    // A queue of the test's own on the exchange the next run publishes to.
    const declarer = createSiePublisher({
      url: AMQP_URL,
      tenant: id,
      exchange,
      queue: `${id}.test`,
      queueArguments: { 'x-expires': 60_000, 'x-max-length': 1000 },
    });
    await declarer.start({ timeoutMs: 5000 });
    await declarer.close();
    const topics: string[] = [];
    const record = (topic: string) => () => void topics.push(topic);
    const consumer = createSieConsumer({
      url: AMQP_URL,
      queue: `${id}.test`,
      handlers: {
        TARGET_CREATED: record('TARGET_CREATED'),
        TARGET_UPDATED: record('TARGET_UPDATED'),
        ACTION_CREATED: record('ACTION_CREATED'),
        UPDATE_ASSIGNMENT: record('UPDATE_ASSIGNMENT'),
      },
    });
    await consumer.start();
    const second = await open({
      dataDir,
      tenant: id,
      amqpUrl: AMQP_URL,
      sieExchange: exchange,
      sieQueue: `${id}.backend`,
    });
    try {
      expect(second.backend.sie).toBe(true);
      const deadline = Date.now() + 15_000;
      while (topics.length < 7 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(topics.sort()).toEqual([
        'ACTION_CREATED',
        'ACTION_CREATED',
        'TARGET_CREATED',
        'TARGET_CREATED',
        'TARGET_UPDATED',
        'TARGET_UPDATED',
        'UPDATE_ASSIGNMENT',
      ]);
      const deadline2 = Date.now() + 5_000;
      while (
        (await outboxOf(second.store).outboxStats()).some((s) => s.channel === 'sie') &&
        Date.now() < deadline2
      )
        await new Promise((r) => setTimeout(r, 20));
      expect((await outboxOf(second.store).outboxStats()).map((s) => s.channel)).not.toContain(
        'sie',
      );
    } finally {
      await consumer.close();
      await second.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 60_000);
