import { type Logger, silentLogger } from '@otaflow/core';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { z } from 'zod';
import { type DedupeKey, Deduplicator } from './Deduplicator.js';
import {
  SIE_BODY_SCHEMAS,
  SIE_TOPICS,
  type SieBodies,
  SieHeaders,
  type SieTopic,
} from './messages.js';
import { type ReconnectOptions, Reconnector } from './Reconnector.js';
import { SieError } from './SieError.js';
import { SIE_QUEUE } from './topology.js';

export interface SieHandlerContext<T extends SieTopic = SieTopic> {
  topic: T;
  tenant: string;
  headers: SieHeaders;
  /** The raw delivery, e.g. for `fields.redelivered` or `properties.messageId`. */
  message: ConsumeMessage;
}

export type SieHandler<T extends SieTopic> = (
  body: SieBodies[T],
  context: SieHandlerContext<T>,
) => void | Promise<void>;

export type SieHandlers = { [T in SieTopic]?: SieHandler<T> };

export interface SieDeadLetterTarget {
  exchange: string;
  /** Default ''. */
  routingKey?: string;
}

export interface SieConsumerOptions {
  url: string;
  /** Default `sievent_queue`. */
  queue?: string;
  /** Unacknowledged deliveries in flight. Default 50. */
  prefetch?: number;
  /**
   * true (default): passive-declare the queue before consuming, so a missing queue is reported
   * as such. false: only consume. Either way the queue is never declared with arguments, so the
   * READ-only SIE user and Bosch's own arguments are respected.
   */
  checkQueue?: boolean;
  handlers: SieHandlers;
  /** Where invalid messages go; without it they are logged, acknowledged and counted. */
  deadLetter?: SieDeadLetterTarget;
  /**
   * Drop messages seen recently. Default: by `message_id` only (10000 ids), which drops a
   * publisher's resend (an outbox batch sent again carries the same ids); `true`: by id, or by
   * content hash for a message without one; or a size and key choice; `false`: keep every one.
   */
  dedupe?: boolean | { size?: number; key?: DedupeKey };
  /** After a handler rejected, wait this long before the message is requeued. Default 1000 ms. */
  retryDelayMs?: number;
  reconnect?: ReconnectOptions;
  /** Default `otaflow-sie-consumer`. */
  connectionName?: string;
  /** How long `close()` waits for a running handler. Default 5000 ms. */
  closeTimeoutMs?: number;
  /** Where the consumer reports what it does; silent by default. */
  logger?: Logger;
}

export interface SieConsumerStats {
  connected: boolean;
  received: number;
  /** Handler resolved and message acknowledged. */
  handled: number;
  /** Known topic without a handler: acknowledged. */
  ignored: number;
  /** Topic not among the six: acknowledged and logged, as the SIE page asks. */
  unknown: number;
  /** Headers or body failed validation. */
  invalid: number;
  deadLettered: number;
  duplicates: number;
  /** Handler rejections (the message was requeued). */
  failed: number;
  acked: number;
  reconnects: number;
}

type Counter = Exclude<keyof SieConsumerStats, 'connected' | 'reconnects'>;

/**
 * Consumes `sievent_queue`: validates each message with zod, hands it to the handler of its
 * topic, and acknowledges only after the handler resolved. Messages are handled one at a time,
 * in queue order. Reconnects after any connection or channel loss and consumes again.
 */
export class SieConsumer {
  readonly #options: SieConsumerOptions;
  readonly #logger: Logger;
  readonly #queue: string;
  readonly #reconnector: Reconnector;
  readonly #dedupe: Deduplicator | undefined;
  readonly #counters: Record<Counter, number> = {
    received: 0,
    handled: 0,
    ignored: 0,
    unknown: 0,
    invalid: 0,
    deadLettered: 0,
    duplicates: 0,
    failed: 0,
    acked: 0,
  };
  #channel: Channel | undefined;
  #deadLetterChannel: ConfirmChannel | undefined;
  #consumerTag: string | undefined;
  #chain: Promise<void> = Promise.resolve();
  #closing = false;

  constructor(options: SieConsumerOptions) {
    if (!options.url) throw new SieError('INVALID_OPTIONS', 'url is required');
    const prefetch = options.prefetch ?? 50;
    if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 65_535) {
      throw new SieError('INVALID_OPTIONS', 'prefetch must be an integer in 1..65535');
    }
    this.#options = { ...options, prefetch };
    this.#logger = options.logger ?? silentLogger;
    this.#queue = options.queue ?? SIE_QUEUE;
    if (options.dedupe !== false) {
      const config =
        options.dedupe === undefined
          ? { key: 'messageId' as const }
          : options.dedupe === true
            ? {}
            : options.dedupe;
      this.#dedupe = new Deduplicator(config.size ?? 10_000, config.key);
    }
    this.#reconnector = new Reconnector({
      ...options.reconnect,
      url: options.url,
      connectionName: options.connectionName ?? 'otaflow-sie-consumer',
      logger: this.#logger,
      label: 'SIE consumer',
      setup: (connection) => this.#setup(connection),
      lost: () => {
        this.#channel = undefined;
        this.#deadLetterChannel = undefined;
      },
    });
  }

  get connected(): boolean {
    return this.#reconnector.connected;
  }

  /** Starts consuming; resolves once the first consumer is in place (see SiePublisher.start). */
  start(options: { timeoutMs?: number } = {}): Promise<void> {
    return this.#reconnector.waitUntilReady(options.timeoutMs);
  }

  stats(): SieConsumerStats {
    return {
      ...this.#counters,
      connected: this.connected,
      reconnects: this.#reconnector.reconnects,
    };
  }

  /**
   * Stops consuming, waits up to `closeTimeoutMs` for the running handler, closes the connection.
   * Deliveries not yet acknowledged go back to the queue.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const channel = this.#channel;
    if (channel && this.#consumerTag)
      await channel.cancel(this.#consumerTag).catch(() => undefined);
    const timeoutMs = this.#options.closeTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#chain,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    await this.#reconnector.stop();
  }

  async #setup(connection: ChannelModel): Promise<void> {
    const channel = await connection.createChannel();
    channel.on('error', (error: Error) =>
      this.#logger.warn({ err: error }, 'SIE consumer channel error'),
    );
    // A lone channel close (404 on checkQueue, 406 unknown delivery tag, consumer_timeout) takes
    // the connection with it, so the loop rebuilds everything.
    channel.on('close', () => connection.close().catch(() => undefined));
    if (this.#options.checkQueue !== false) await channel.checkQueue(this.#queue);
    if (this.#options.deadLetter) {
      const deadLetter = await connection.createConfirmChannel();
      deadLetter.on('error', (error: Error) =>
        this.#logger.warn({ err: error }, 'SIE consumer dead-letter channel error'),
      );
      deadLetter.on('close', () => connection.close().catch(() => undefined));
      this.#deadLetterChannel = deadLetter;
    }
    await channel.prefetch(this.#options.prefetch ?? 50);
    this.#channel = channel;
    const { consumerTag } = await channel.consume(
      this.#queue,
      (message) => {
        if (message === null) {
          this.#logger.warn(
            { queue: this.#queue },
            'SIE consumer cancelled by the broker (queue deleted?)',
          );
          connection.close().catch(() => undefined);
          return;
        }
        this.#chain = this.#chain.then(() => this.#handle(channel, message));
      },
      { noAck: false },
    );
    this.#consumerTag = consumerTag;
  }

  async #handle(channel: Channel, message: ConsumeMessage): Promise<void> {
    this.#counters.received++;
    const rawHeaders = message.properties.headers ?? {};
    const topic = rawHeaders.topic;
    if (typeof topic === 'string' && !(SIE_TOPICS as readonly string[]).includes(topic)) {
      this.#counters.unknown++;
      this.#logger.info(
        { topic, type: rawHeaders.type },
        'SIE message with an unknown topic acknowledged and ignored',
      );
      this.#ack(channel, message);
      return;
    }
    const headers = SieHeaders.safeParse(rawHeaders);
    if (!headers.success) {
      await this.#invalid(channel, message, `invalid headers: ${z.prettifyError(headers.error)}`);
      return;
    }
    const known = topic as SieTopic;
    let json: unknown;
    try {
      json = JSON.parse(message.content.toString('utf8'));
    } catch (error) {
      await this.#invalid(channel, message, `body is not JSON: ${(error as Error).message}`);
      return;
    }
    const body = SIE_BODY_SCHEMAS[known].safeParse(json);
    if (!body.success) {
      await this.#invalid(
        channel,
        message,
        `invalid ${known} body: ${z.prettifyError(body.error)}`,
      );
      return;
    }
    const key = this.#dedupe?.keyOf(message);
    if (key !== undefined && this.#dedupe?.has(key)) {
      this.#counters.duplicates++;
      this.#ack(channel, message);
      return;
    }
    const handler = this.#options.handlers[known] as SieHandler<SieTopic> | undefined;
    if (handler) {
      try {
        await handler(body.data, {
          topic: known,
          tenant: headers.data.tenant,
          headers: headers.data,
          message,
        });
      } catch (error) {
        this.#counters.failed++;
        this.#logger.error(
          { topic: known, err: error },
          'SIE handler failed; the message will be redelivered',
        );
        await this.#requeueLater(channel, message);
        return;
      }
      this.#counters.handled++;
    } else {
      this.#counters.ignored++;
    }
    if (key !== undefined) this.#dedupe?.remember(key);
    this.#ack(channel, message);
  }

  async #invalid(channel: Channel, message: ConsumeMessage, reason: string): Promise<void> {
    this.#counters.invalid++;
    const target = this.#options.deadLetter;
    const deadLetter = this.#deadLetterChannel;
    if (!target) {
      this.#logger.error(
        {
          reason,
          headers: message.properties.headers,
          body: message.content.toString('utf8', 0, Math.min(message.content.length, 500)),
        },
        'invalid SIE message acknowledged and dropped',
      );
      this.#ack(channel, message);
      return;
    }
    try {
      if (!deadLetter) throw new Error('dead-letter channel is not open');
      await new Promise<void>((resolve, reject) => {
        deadLetter.publish(
          target.exchange,
          target.routingKey ?? '',
          message.content,
          {
            ...message.properties,
            headers: {
              ...message.properties.headers,
              'x-sie-invalid-reason': reason.slice(0, 2000),
              'x-sie-source-queue': this.#queue,
            },
          },
          (error) => (error ? reject(error) : resolve()),
        );
      });
    } catch (error) {
      this.#logger.error(
        { reason, err: error },
        'dead-lettering failed; the message will be redelivered',
      );
      await this.#requeueLater(channel, message);
      return;
    }
    this.#counters.deadLettered++;
    this.#logger.warn({ reason, exchange: target.exchange }, 'invalid SIE message dead-lettered');
    this.#ack(channel, message);
  }

  async #requeueLater(channel: Channel, message: ConsumeMessage): Promise<void> {
    // Requeueing at once would spin; the message keeps its original TTL meanwhile.
    await new Promise((resolve) => setTimeout(resolve, this.#options.retryDelayMs ?? 1000));
    if (this.#channel !== channel) return;
    try {
      channel.nack(message, false, true);
    } catch {
      // The channel died meanwhile; the broker requeues the delivery anyway.
    }
  }

  #ack(channel: Channel, message: ConsumeMessage): void {
    // A delivery tag belongs to its channel; after a reconnect the broker redelivers instead.
    if (this.#channel !== channel) return;
    try {
      channel.ack(message);
      this.#counters.acked++;
    } catch {
      // The channel closed under us: the message comes back, dedupe can catch it.
    }
  }
}

/** Same as `new SieConsumer(options)`. */
export function createSieConsumer(options: SieConsumerOptions): SieConsumer {
  return new SieConsumer(options);
}
