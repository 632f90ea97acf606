import amqp from 'amqplib';

export interface SieTally {
  messages: number;
  byTopic: Record<string, number>;
  firstAt: number | undefined;
  lastAt: number | undefined;
}

export interface SieCheck {
  /** Targets of the update missing ACTION_CREATED, a final ACTION_UPDATED, TARGET_UPDATED in_sync, or UPDATE_ASSIGNMENT. */
  missing: {
    actionCreated: number;
    actionFinished: number;
    targetInSync: number;
    assignment: number;
  };
  complete: boolean;
}

/**
 * Counts SIE events per target from its own queue bound to the backend's exchange. Its own queue,
 * not the SIE queue: that one is declared with the page's `x-max-length=1000` (drop-head), which
 * would make a slow counter look like a lossy publisher. The queue is deleted on close.
 */
export async function startSieCounter(options: { url: string; exchange: string; queue: string }) {
  const connection = await amqp.connect(options.url);
  const channel = await connection.createChannel();
  await channel.assertQueue(options.queue, { durable: false, autoDelete: false });
  await channel.bindQueue(options.queue, options.exchange, '');
  await channel.prefetch(2000);
  const tally: SieTally = { messages: 0, byTopic: {}, firstAt: undefined, lastAt: undefined };
  const created = new Set<string>();
  const finished = new Set<string>();
  const inSync = new Set<string>();
  const assigned = new Set<string>();
  await channel.consume(
    options.queue,
    (msg) => {
      if (!msg) return;
      const now = performance.now();
      tally.firstAt ??= now;
      tally.lastAt = now;
      tally.messages++;
      const topic = String((msg.properties.headers as Record<string, unknown> | undefined)?.topic);
      tally.byTopic[topic] = (tally.byTopic[topic] ?? 0) + 1;
      const body = JSON.parse(msg.content.toString()) as Record<string, unknown>;
      const id = String(body.controllerId);
      if (topic === 'ACTION_CREATED') created.add(id);
      else if (
        topic === 'ACTION_UPDATED' &&
        body.actionActive === false &&
        String(body.actionStatus).toUpperCase() === 'FINISHED'
      )
        finished.add(id);
      else if (topic === 'TARGET_UPDATED' && String(body.updateStatus).toUpperCase() === 'IN_SYNC')
        inSync.add(id);
      else if (topic === 'UPDATE_ASSIGNMENT')
        for (const t of (body.targets ?? []) as { controllerId: string }[])
          assigned.add(t.controllerId);
      channel.ack(msg);
    },
    { noAck: false },
  );
  return {
    tally,
    check(ids: readonly string[]): SieCheck {
      const count = (set: Set<string>) => ids.reduce((n, id) => n + (set.has(id) ? 0 : 1), 0);
      const missing = {
        actionCreated: count(created),
        actionFinished: count(finished),
        targetInSync: count(inSync),
        assignment: count(assigned),
      };
      return { missing, complete: Object.values(missing).every((n) => n === 0) };
    },
    async close(deleteAlso: { exchange?: string; queues?: string[] } = {}) {
      await channel.deleteQueue(options.queue).catch(() => {});
      for (const q of deleteAlso.queues ?? []) await channel.deleteQueue(q).catch(() => {});
      if (deleteAlso.exchange) await channel.deleteExchange(deleteAlso.exchange).catch(() => {});
      await connection.close().catch(() => {});
    },
  };
}
