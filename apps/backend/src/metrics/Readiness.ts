import type { UpdateStore } from '@otaflow/core';

/** A broker the backend cannot work without while it is configured. */
export interface RequiredBroker {
  name: string;
  connected(): boolean;
}

export interface ReadinessReport {
  ready: boolean;
  database: 'UP' | 'DOWN';
  brokers: Record<string, 'UP' | 'DOWN'>;
}

export interface ReadinessOptions {
  store: UpdateStore;
  /** A ping slower than this counts as down (default 1000 ms). */
  pingTimeoutMs?: number;
  /** A ping's answer is reused this long (default 1000 ms): probes from many balancers share it. */
  cacheMs?: number;
}

/**
 * What `/readyz` answers besides "started and not closing": the database answers a ping (the
 * store's optional `ping()`, with a timeout, cached briefly) and every required broker is
 * connected. At most one ping is under way: a hanging database is not asked again and again.
 */
export class Readiness {
  readonly #store: UpdateStore;
  readonly #timeoutMs: number;
  readonly #cacheMs: number;
  readonly #brokers: RequiredBroker[] = [];
  #last: { at: number; up: boolean } | undefined;
  #pending: Promise<boolean> | undefined;
  #hanging = false;

  constructor(options: ReadinessOptions) {
    this.#store = options.store;
    this.#timeoutMs = options.pingTimeoutMs ?? 1000;
    this.#cacheMs = options.cacheMs ?? 1000;
  }

  require(broker: RequiredBroker): void {
    this.#brokers.push(broker);
  }

  /** The last ping's verdict (true before the first), for a gauge that must not ping itself. */
  get databaseUp(): boolean {
    return this.#last?.up ?? true;
  }

  async check(): Promise<ReadinessReport> {
    const database = await this.#database();
    const brokers: Record<string, 'UP' | 'DOWN'> = {};
    let ready = database;
    for (const broker of this.#brokers) {
      const up = broker.connected();
      brokers[broker.name] = up ? 'UP' : 'DOWN';
      ready &&= up;
    }
    return { ready, database: database ? 'UP' : 'DOWN', brokers };
  }

  #database(): Promise<boolean> {
    const ping = this.#store.ping;
    if (!ping) return Promise.resolve(true);
    const last = this.#last;
    if (last && Date.now() - last.at < this.#cacheMs) return Promise.resolve(last.up);
    this.#pending ??= this.#ping(ping).then((up) => {
      this.#last = { at: Date.now(), up };
      this.#pending = undefined;
      return up;
    });
    return this.#pending;
  }

  /** True when the store answered in time; a ping still hanging from before is not repeated. */
  #ping(ping: () => Promise<void>): Promise<boolean> {
    if (this.#hanging) return Promise.resolve(false);
    const attempt = ping.call(this.#store);
    this.#hanging = true;
    const settled = attempt.then(
      () => true,
      () => false,
    );
    void settled.then(() => {
      this.#hanging = false;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#timeoutMs);
    });
    return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
  }
}
