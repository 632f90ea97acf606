export interface AuthThrottleOptions {
  /** Wrong passwords a client address may send in a row before it is made to wait (0: off). */
  maxFailures: number;
  /** Time in which a full allowance of failures grows back, one failure at a time. */
  windowMs: number;
  /** Epoch ms; injectable for tests. */
  clock?: () => number;
  /** Most addresses and user names remembered; the fullest buckets are forgotten first. */
  maxEntries?: number;
}

interface Bucket {
  tokens: number;
  /** The last failure: the bucket is forgotten once full and a window has passed since. */
  at: number;
}

/**
 * Throttles failed Basic-auth attempts with token buckets: every wrong password takes a token from
 * its client address's bucket and from its user name's; a full allowance grows back over the
 * window. An address with an empty bucket waits, whatever it sends. A user name with an empty
 * bucket (one name tried from many addresses) makes only the addresses that failed within the
 * window wait, so an attacker cannot lock out the clients that know the password.
 */
export class AuthThrottle {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #perMs: number;
  readonly #clock: () => number;
  readonly #maxEntries: number;
  readonly #addresses = new Map<string, Bucket>();
  readonly #users = new Map<string, Bucket>();

  constructor(options: AuthThrottleOptions) {
    this.#max = options.maxFailures;
    this.#windowMs = Math.max(1, options.windowMs);
    this.#perMs = options.maxFailures / Math.max(1, options.windowMs);
    this.#clock = options.clock ?? Date.now;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  get enabled(): boolean {
    return this.#max > 0;
  }

  /**
   * Seconds the client must wait before its credentials are even looked at (for `Retry-After`),
   * or undefined when it may try now.
   */
  waitSeconds(address: string, user: string | undefined): number | undefined {
    if (!this.enabled) return undefined;
    const now = this.#clock();
    const own = this.#level(this.#addresses, address, now);
    if (own < 1) return this.#secondsUntilOne(own);
    if (user === undefined || !this.#addresses.has(address)) return undefined;
    const shared = this.#level(this.#users, user, now);
    return shared < 1 ? this.#secondsUntilOne(shared) : undefined;
  }

  /** Counts one wrong password against the address and the user name. */
  failed(address: string, user: string | undefined): void {
    if (!this.enabled) return;
    const now = this.#clock();
    this.#take(this.#addresses, address, now);
    if (user !== undefined) this.#take(this.#users, user, now);
  }

  #level(buckets: Map<string, Bucket>, key: string, now: number): number {
    const bucket = buckets.get(key);
    if (!bucket) return this.#max;
    const tokens = Math.min(this.#max, bucket.tokens + (now - bucket.at) * this.#perMs);
    if (tokens >= this.#max && now - bucket.at >= this.#windowMs) buckets.delete(key);
    return tokens;
  }

  #take(buckets: Map<string, Bucket>, key: string, now: number): void {
    const tokens = this.#level(buckets, key, now);
    if (!buckets.has(key) && buckets.size >= this.#maxEntries) this.#prune(buckets, now);
    buckets.set(key, { tokens: Math.max(0, tokens - 1), at: now });
  }

  /** Drops the buckets that have grown back, then, if still too many, the oldest. */
  #prune(buckets: Map<string, Bucket>, now: number): void {
    for (const key of [...buckets.keys()]) this.#level(buckets, key, now);
    const excess = buckets.size - Math.floor(this.#maxEntries * 0.9);
    if (excess <= 0) return;
    let dropped = 0;
    for (const key of buckets.keys()) {
      if (dropped++ >= excess) break;
      buckets.delete(key);
    }
  }

  #secondsUntilOne(tokens: number): number {
    return Math.max(1, Math.ceil((1 - tokens) / this.#perMs / 1000));
  }
}
