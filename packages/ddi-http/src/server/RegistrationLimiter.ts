import { isIPv6 } from 'node:net';

export interface RegistrationLimit {
  /** New registrations one client may make at once, before it has to wait (default 100). */
  burst?: number;
  /** New registrations per second a client earns back, up to `burst` (default 10). */
  perSecond?: number;
  /** Clients remembered at most; the longest untouched are forgotten first (default 100,000). */
  maxClients?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * The key of a client: its IPv4 address, or the /64 of an IPv6 one, since one host usually owns
 * a whole /64 and could otherwise take a fresh bucket per address.
 */
export function clientKeyOf(address: string | undefined): string {
  if (!address) return '';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address;
  const [head = '', tail] = address.split('::', 2);
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * A token bucket per client address for plug-and-play registrations, so one client cannot fill
 * the store with anonymous targets. Only new targets take a token; known targets never ask.
 */
export class RegistrationLimiter {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #maxClients: number;
  readonly #clock: () => number;
  /** Insertion order is last-touched order: a touched bucket is moved to the end. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(limit: RegistrationLimit = {}, clock: () => number = Date.now) {
    this.#burst = limit.burst ?? 100;
    this.#perMs = (limit.perSecond ?? 10) / 1000;
    this.#maxClients = limit.maxClients ?? 100_000;
    this.#clock = clock;
    if (!(this.#burst >= 1) || !(this.#perMs > 0) || !(this.#maxClients >= 1))
      throw new RangeError('registration limit: burst >= 1, perSecond > 0, maxClients >= 1');
  }

  /** Takes a token for `address`: 0 when granted, else the milliseconds until one is due. */
  take(address: string | undefined): number {
    const key = clientKeyOf(address);
    const now = this.#clock();
    const bucket = this.#buckets.get(key);
    let tokens = this.#burst;
    if (bucket) {
      tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
      this.#buckets.delete(key);
    } else if (this.#buckets.size >= this.#maxClients) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest !== undefined) this.#buckets.delete(oldest);
    }
    if (tokens >= 1) {
      this.#buckets.set(key, { tokens: tokens - 1, at: now });
      return 0;
    }
    this.#buckets.set(key, { tokens, at: now });
    return Math.ceil((1 - tokens) / this.#perMs);
  }
}
