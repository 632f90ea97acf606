import {
  type DomainEvent,
  type Logger,
  type OutboxEntry,
  type OutboxSink,
  silentLogger,
  type UpdateService,
} from '@otaflow/core';
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import { encodeSieMessage } from './encodeSieMessage.js';
import type { SieMessage } from './messages.js';
import { outboxMessageId } from './outboxMessageId.js';
import { isRefusal, type ReconnectOptions, Reconnector, redact } from './Reconnector.js';
import { SieError } from './SieError.js';
import { declareSieTopology, SIE_EXCHANGE, SIE_QUEUE } from './topology.js';
import { type ToSieMessagesOptions, toSieMessages } from './toSieMessages.js';

export interface SiePublisherOptions {
  /** e.g. `amqp://guest:guest@127.0.0.1:5672`; put `?heartbeat=30` in it if you want heartbeats. */
  url: string;
  /** The `tenant` header of every message. */
  tenant: string;
  /** Default `sievent.exchange`. */
  exchange?: string;
  /** Default `sievent_queue`. */
  queue?: string;
  /** Declare the topology on every (re)connect. Default true. */
  declareTopology?: boolean;
  /** Declare and bind the queue as well as the exchange. Default true. */
  declareQueue?: boolean;
  /** Queue arguments; default SIE_QUEUE_ARGUMENTS (x-max-length 1000, x-message-ttl 1 day). */
  queueArguments?: Record<string, unknown>;
  /**
   * Messages that may wait for the broker (away or pushing back); more is BUFFER_FULL. Default
   * 100000: one assignment emits about two events per target at once, faster than any socket
   * drains, so the default carries a campaign of tens of thousands of targets.
   */
  bufferSize?: number;
  reconnect?: ReconnectOptions;
  /** Shown by `rabbitmqctl list_connections client_properties`. Default `otaflow-sie-publisher`. */
  connectionName?: string;
  artifactUrls?: ToSieMessagesOptions['artifactUrls'];
  /** Put a random `message_id` on every message so consumers can drop retransmissions. Default true. */
  messageIds?: boolean;
  /** How long `close()` waits for the buffer to be confirmed. Default 5000 ms. */
  closeTimeoutMs?: number;
  /** Where the publisher reports what it does; silent by default. */
  logger?: Logger;
  /** Errors of publishes started by `attach()`; default logs them. */
  onError?: (error: unknown, event: DomainEvent) => void;
}

export interface SiePublisherStatus {
  connected: boolean;
  /** Waiting for the broker (not yet written to a channel). */
  buffered: number;
  /** Written, waiting for the broker's confirm. */
  unconfirmed: number;
  confirmed: number;
  nacked: number;
  reconnects: number;
  lastError: string | undefined;
}

interface Entry {
  content: Buffer;
  options: Options.Publish;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Publishes SIE messages on a confirm channel. `publish` resolves when the broker confirmed every
 * message of the event; while the broker is away, messages wait in order in a bounded buffer and
 * go out after reconnect. Unconfirmed messages of a lost channel are sent again (at least once).
 */
export class SiePublisher {
  readonly #options: SiePublisherOptions;
  readonly #logger: Logger;
  readonly #exchange: string;
  readonly #bufferSize: number;
  readonly #reconnector: Reconnector;
  /** A deque: `#buffer[#head..]` is waiting. */
  #buffer: Entry[] = [];
  #head = 0;
  readonly #unconfirmed = new Set<Entry>();
  #channel: ConfirmChannel | undefined;
  #writable = false;
  #closing = false;
  #closed = false;
  #confirmed = 0;
  #nacked = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(options: SiePublisherOptions) {
    if (!options.tenant) throw new SieError('INVALID_OPTIONS', 'tenant is required');
    if (!options.url) throw new SieError('INVALID_OPTIONS', 'url is required');
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#exchange = options.exchange ?? SIE_EXCHANGE;
    this.#bufferSize = options.bufferSize ?? 100_000;
    if (!Number.isInteger(this.#bufferSize) || this.#bufferSize < 1) {
      throw new SieError('INVALID_OPTIONS', 'bufferSize must be a positive integer');
    }
    this.#reconnector = new Reconnector({
      ...options.reconnect,
      url: options.url,
      connectionName: options.connectionName ?? 'otaflow-sie-publisher',
      logger: this.#logger,
      label: 'SIE publisher',
      setup: (connection) => this.#setup(connection),
      lost: () => this.#lost(),
    });
  }

  /** True while a confirm channel with the topology in place is up. */
  get connected(): boolean {
    return this.#reconnector.connected;
  }

  status(): SiePublisherStatus {
    return {
      connected: this.connected,
      buffered: this.#buffer.length - this.#head,
      unconfirmed: this.#unconfirmed.size,
      confirmed: this.#confirmed,
      nacked: this.#nacked,
      reconnects: this.#reconnector.reconnects,
      lastError: this.#reconnector.lastError?.message,
    };
  }

  /**
   * Starts connecting (publishing also does) and resolves once connected. With `timeoutMs` it
   * rejects with CONNECT_TIMEOUT, and with TOPOLOGY when the broker refuses the declarations;
   * either way it keeps trying in the background, so an app may run on without SIE.
   */
  start(options: { timeoutMs?: number } = {}): Promise<void> {
    return this.#reconnector.waitUntilReady(options.timeoutMs);
  }

  /** Publishes the SIE message(s) of one domain event; resolves when all are confirmed. */
  publish(event: DomainEvent): Promise<void> {
    let messages: SieMessage[];
    try {
      messages = toSieMessages(event, {
        tenant: this.#options.tenant,
        artifactUrls: this.#options.artifactUrls,
      });
    } catch (error) {
      return Promise.reject(error);
    }
    return this.publishMessages(messages);
  }

  /**
   * Publishes the SIE messages of outbox entries, each with the `message_id` its entry fixes
   * (`outboxMessageId`), so that a batch sent again after a crash carries the same ids and a
   * consumer drops the repeats; resolves when the broker confirmed all of them.
   */
  publishOutbox(entries: readonly OutboxEntry[]): Promise<void> {
    const messages: SieMessage[] = [];
    const ids: string[] = [];
    try {
      for (const entry of entries) {
        const made = toSieMessages(entry.event, {
          tenant: this.#options.tenant,
          artifactUrls: this.#options.artifactUrls,
        });
        made.forEach((message, index) => {
          messages.push(message);
          ids.push(outboxMessageId(this.#options.tenant, entry.id, index));
        });
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.publishMessages(messages, ids);
  }

  /** `publishOutbox` as an `OutboxRelay`'s sink. */
  outboxSink(): OutboxSink {
    return (entries) => this.publishOutbox(entries);
  }

  /**
   * Publishes ready-made SIE messages, in order; resolves when all are confirmed. `messageIds`,
   * one per message, replace the random ones.
   */
  publishMessages(messages: readonly SieMessage[], messageIds?: readonly string[]): Promise<void> {
    if (this.#closing) {
      return Promise.reject(new SieError('CLOSED', 'the SIE publisher is closed'));
    }
    if (messages.length === 0) return Promise.resolve();
    const waiting = this.#buffer.length - this.#head;
    if (waiting + messages.length > this.#bufferSize) {
      return Promise.reject(
        new SieError(
          'BUFFER_FULL',
          `SIE publisher buffer full (${waiting} of ${this.#bufferSize} waiting, ${this.connected ? 'broker pushing back' : 'broker unreachable'}); ${messages.length} message(s) not accepted`,
        ),
      );
    }
    this.#reconnector.ensureRunning();
    const random = this.#options.messageIds === false ? false : undefined;
    const promises = messages.map((message, i) => {
      const { content, options } = encodeSieMessage(message, {
        messageId: messageIds?.[i] ?? random,
      });
      return new Promise<void>((resolve, reject) => {
        this.#buffer.push({ content, options, resolve, reject });
      });
    });
    this.#pump();
    return promises.length === 1
      ? (promises[0] as Promise<void>)
      : Promise.all(promises).then(noop);
  }

  /**
   * Publishes every domain event of `service`; returns the unsubscribe function. Failures go to
   * `onError` (default: logged), since the service cannot wait for them.
   */
  attach(service: Pick<UpdateService, 'onEvent'>): () => void {
    return service.onEvent((event) => {
      this.publish(event).catch((error: unknown) => {
        if (this.#options.onError) this.#options.onError(error, event);
        else {
          this.#logger.error({ event: event.type, err: error }, 'SIE publish failed');
        }
      });
    });
  }

  /**
   * Refuses new publishes, waits up to `closeTimeoutMs` for everything accepted to be confirmed,
   * then closes the connection. Rejects with FLUSH_FAILED (and so do the publishes concerned) if
   * anything was left unconfirmed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing = true;
    const pending = () => this.#buffer.length - this.#head + this.#unconfirmed.size;
    if (pending() > 0) {
      const timeoutMs = this.#options.closeTimeoutMs ?? 5000;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const left = pending();
    this.#closed = true;
    const error =
      left > 0
        ? new SieError(
            'FLUSH_FAILED',
            `SIE publisher closed with ${left} message(s) unconfirmed (broker ${redact(this.#options.url)} ${this.connected ? 'slow' : 'unreachable'})`,
          )
        : undefined;
    if (error) {
      const entries = [...this.#unconfirmed, ...this.#buffer.slice(this.#head)];
      this.#unconfirmed.clear();
      this.#buffer = [];
      this.#head = 0;
      for (const entry of entries) entry.reject(error);
    }
    await this.#reconnector.stop();
    if (error) throw error;
  }

  async #setup(connection: ChannelModel): Promise<void> {
    const channel = await connection.createConfirmChannel();
    channel.on('error', (error: Error) =>
      this.#logger.warn({ err: error }, 'SIE publisher channel error'),
    );
    // A channel can die alone (e.g. publishing to a deleted exchange): start over cleanly.
    channel.on('close', () => {
      if (this.#channel === channel) this.#lost();
      connection.close().catch(() => undefined);
    });
    if (this.#options.declareTopology !== false) {
      try {
        await declareSieTopology(channel, {
          exchange: this.#exchange,
          queue: this.#options.queue ?? SIE_QUEUE,
          declareQueue: this.#options.declareQueue,
          queueArguments: this.#options.queueArguments,
        });
      } catch (error) {
        if (isRefusal(error)) {
          throw new SieError(
            'TOPOLOGY',
            `the broker refused the SIE topology: ${(error as Error).message}`,
            {
              cause: error,
            },
          );
        }
        throw error;
      }
    }
    this.#channel = channel;
    this.#writable = true;
    channel.on('drain', () => {
      if (this.#channel !== channel) return;
      this.#writable = true;
      this.#pump();
    });
    this.#pump();
  }

  /** The channel is gone: what it did not confirm goes back to the front of the buffer, in order. */
  #lost(): void {
    this.#channel = undefined;
    this.#writable = false;
    if (this.#unconfirmed.size === 0) return;
    const retry = [...this.#unconfirmed];
    this.#unconfirmed.clear();
    this.#buffer = retry.concat(this.#buffer.slice(this.#head));
    this.#head = 0;
  }

  #pump(): void {
    const channel = this.#channel;
    while (channel && this.#writable && this.#head < this.#buffer.length) {
      const entry = this.#buffer[this.#head] as Entry;
      let flowing: boolean;
      try {
        flowing = channel.publish(this.#exchange, '', entry.content, entry.options, (error) =>
          this.#confirm(entry, error),
        );
      } catch {
        // The channel is closing; its close handler puts things right.
        return;
      }
      this.#head++;
      this.#unconfirmed.add(entry);
      if (!flowing) this.#writable = false;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
  }

  #confirm(entry: Entry, error: unknown): void {
    // amqplib also calls back with 'channel closed' for what a dying channel never confirmed;
    // those stay in #unconfirmed and #lost sends them again.
    if (error && (error as Error).message !== 'message nacked') return;
    if (!this.#unconfirmed.delete(entry)) return;
    if (error) {
      this.#nacked++;
      entry.reject(new SieError('NACKED', 'the broker refused the message (basic.nack)'));
    } else {
      this.#confirmed++;
      entry.resolve();
    }
    if (this.#unconfirmed.size === 0 && this.#head >= this.#buffer.length) {
      for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }
}

function noop(): void {}

/** Same as `new SiePublisher(options)`. */
export function createSiePublisher(options: SiePublisherOptions): SiePublisher {
  return new SiePublisher(options);
}
