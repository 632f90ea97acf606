import type { Channel } from 'amqplib';

export const SIE_EXCHANGE = 'sievent.exchange';
export const SIE_QUEUE = 'sievent_queue';

/** The queue arguments of the SIE page: at most 1000 ready messages, each kept at most one day. */
export const SIE_QUEUE_ARGUMENTS: Readonly<Record<string, number>> = Object.freeze({
  'x-max-length': 1000,
  'x-message-ttl': 86_400_000,
});

export interface SieTopologyOptions {
  exchange?: string;
  queue?: string;
  /** Declare and bind the queue too (true); false declares the exchange only. */
  declareQueue?: boolean;
  /** Replaces SIE_QUEUE_ARGUMENTS, e.g. a shorter TTL in a test. */
  queueArguments?: Record<string, unknown>;
}

/**
 * Declares the documented topology: a durable fanout exchange, a durable, non-exclusive,
 * non-auto-delete queue with the page's arguments, bound with an empty routing key. A broker
 * that holds the same names with other arguments refuses with 406 and closes the channel.
 */
export async function declareSieTopology(
  channel: Channel,
  options: SieTopologyOptions = {},
): Promise<{ exchange: string; queue: string | undefined }> {
  const exchange = options.exchange ?? SIE_EXCHANGE;
  const queue = options.queue ?? SIE_QUEUE;
  await channel.assertExchange(exchange, 'fanout', { durable: true, autoDelete: false });
  if (options.declareQueue === false) return { exchange, queue: undefined };
  await channel.assertQueue(queue, {
    durable: true,
    exclusive: false,
    autoDelete: false,
    arguments: { ...(options.queueArguments ?? SIE_QUEUE_ARGUMENTS) },
  });
  await channel.bindQueue(queue, exchange, '');
  return { exchange, queue };
}
