import type { Logger } from '@otaflow/core';
import * as amqp from 'amqplib';
import { SieError } from './SieError.js';

export interface ReconnectOptions {
  /** First delay after a lost or failed connection. Default 100 ms. */
  initialDelayMs?: number;
  /** Upper bound of the doubling delay. Default 5000 ms. */
  maxDelayMs?: number;
}

interface ReconnectorOptions extends ReconnectOptions {
  url: string;
  connectionName: string;
  logger: Logger;
  label: string;
  /** Builds channels and consumers on a fresh connection; throwing abandons the connection. */
  setup: (connection: amqp.ChannelModel) => Promise<void>;
  /** Runs once per lost connection, before the next attempt. */
  lost: () => void;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * One connection at a time, re-made with exponential backoff and jitter. It keys off the
 * connection's `close` event, because amqplib emits no `error` for a 320 CONNECTION_FORCED.
 */
export class Reconnector {
  readonly #options: ReconnectorOptions;
  #connection: amqp.ChannelModel | undefined;
  #ready = false;
  #running = false;
  #stopped = false;
  #connects = 0;
  #lastError: Error | undefined;
  #waiters: Waiter[] = [];
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: ReconnectorOptions) {
    this.#options = options;
  }

  get connected(): boolean {
    return this.#ready;
  }

  get reconnects(): number {
    return Math.max(0, this.#connects - 1);
  }

  get lastError(): Error | undefined {
    return this.#lastError;
  }

  ensureRunning(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Resolves once ready; a TOPOLOGY refusal or the timeout rejects, the loop keeps trying. */
  waitUntilReady(timeoutMs?: number): Promise<void> {
    if (this.#stopped)
      return Promise.reject(new SieError('CLOSED', `${this.#options.label} is closed`));
    this.ensureRunning();
    if (this.#ready) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          const last = this.#lastError ? `: ${this.#lastError.message}` : '';
          reject(
            new SieError(
              'CONNECT_TIMEOUT',
              `${this.#options.label} not connected to ${redact(this.#options.url)} after ${timeoutMs} ms${last}`,
              { cause: this.#lastError },
            ),
          );
        }, timeoutMs);
      }
      this.#waiters.push(waiter);
    });
  }

  /** Drops the current connection; the loop makes a new one. */
  drop(): void {
    this.#connection?.close().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    const closing = this.#connection?.close().catch(() => undefined);
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new SieError('CLOSED', `${this.#options.label} was closed`));
    }
    await closing;
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { logger, label } = this.#options;
    let attempt = 0;
    while (!this.#stopped) {
      let connection: amqp.ChannelModel | undefined;
      try {
        connection = await amqp.connect(this.#options.url, {
          clientProperties: { connection_name: this.#options.connectionName },
        });
        const closed = new Promise<void>((resolve) => connection?.once('close', () => resolve()));
        connection.on('error', (error: Error) =>
          logger.warn({ err: error }, `${label} connection error`),
        );
        this.#connection = connection;
        if (this.#stopped) break;
        await this.#options.setup(connection);
        this.#ready = true;
        this.#connects++;
        this.#lastError = undefined;
        attempt = 0;
        if (this.#connects > 1) logger.info(`${label} reconnected`);
        for (const waiter of this.#waiters.splice(0)) waiter.resolve();
        await closed;
        if (!this.#stopped) logger.warn(`${label} lost its connection; reconnecting`);
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        this.#lastError = err;
        if (!this.#stopped) {
          logger.warn({ err }, `${label} cannot connect or set up`);
        }
        if (err instanceof SieError && err.code === 'TOPOLOGY') {
          for (const waiter of this.#waiters.splice(0)) waiter.reject(err);
        }
        await connection?.close().catch(() => undefined);
      }
      this.#ready = false;
      this.#connection = undefined;
      this.#options.lost();
      if (this.#stopped) break;
      await this.#sleep(this.#delay(attempt++));
    }
    this.#ready = false;
  }

  #delay(attempt: number): number {
    const initial = this.#options.initialDelayMs ?? 100;
    const max = this.#options.maxDelayMs ?? 5000;
    const base = Math.min(max, initial * 2 ** Math.min(attempt, 30));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}

/** Keeps passwords out of logs and error messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

/** AMQP reply codes of a refused declaration: 406 PRECONDITION_FAILED, 403 ACCESS_REFUSED. */
export function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 406 || code === 403;
}
