import type { Logger } from '@otaflow/core';
import { type HttpResponse, httpRequest, type TlsClientOptions } from '../httpRequest.js';
import type { HuaweiNotification, HuaweiNotifyType } from '../notifications.js';

/** The platform's push behaviour; every number is configurable so tests run in milliseconds. */
export interface DeliveryOptions {
  /** A push not answered within this is a failure; default 15 000 ms. */
  timeoutMs?: number;
  /** Pause before pushing a failed message again; default 1 000 ms. */
  retryIntervalMs?: number;
  /** A message not delivered within this is dropped; default 10 min. */
  messageTtlMs?: number;
  /** Consecutive failures after which the callback host is set aside; default 10. */
  blacklistAfter?: number;
  /** How long a set-aside host waits before one probing push; default 3 min. */
  probeIntervalMs?: number;
}

/** One push attempt, as the platform saw it. */
export interface DeliveryRecord {
  url: string;
  notifyType: HuaweiNotifyType;
  body: string;
  attempt: number;
  at: number;
  status?: number;
  error?: string;
  ok: boolean;
}

export interface NotificationDeliveryOptions extends DeliveryOptions {
  /** Trust for HTTPS callbacks (the CA of the receiver's certificate) and an optional client cert. */
  tls?: TlsClientOptions | undefined;
  logger: Logger;
}

interface Pending {
  url: string;
  notification: HuaweiNotification;
  body: string;
  enqueuedAt: number;
  attempts: number;
}

interface HostQueue {
  items: Pending[];
  failures: number;
  blacklistedUntil: number | undefined;
  running: boolean;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Pushes to callback URLs as the platform does: at least once, one push at a time per callback
 * host, retried while the message is younger than its cache time, the host set aside after
 * consecutive failures and probed later.
 */
export class NotificationDelivery {
  readonly #options: Required<DeliveryOptions>;
  readonly #tls: TlsClientOptions | undefined;
  readonly #log: Logger;
  readonly #hosts = new Map<string, HostQueue>();
  readonly #running = new Set<Promise<void>>();
  readonly #deliveries: DeliveryRecord[] = [];
  readonly #dropped: Pending[] = [];
  #closed = false;

  constructor(options: NotificationDeliveryOptions) {
    this.#options = {
      timeoutMs: options.timeoutMs ?? 15_000,
      retryIntervalMs: options.retryIntervalMs ?? 1_000,
      messageTtlMs: options.messageTtlMs ?? 10 * 60_000,
      blacklistAfter: options.blacklistAfter ?? 10,
      probeIntervalMs: options.probeIntervalMs ?? 3 * 60_000,
    };
    this.#tls = options.tls;
    this.#log = options.logger;
  }

  /** Every push attempt so far, in order. */
  get deliveries(): readonly DeliveryRecord[] {
    return this.#deliveries;
  }

  /** Messages given up on (older than `messageTtlMs`). */
  get dropped(): readonly HuaweiNotification[] {
    return this.#dropped.map((p) => p.notification);
  }

  /** Whether the callback host of `url` is set aside after consecutive failures. */
  isBlacklisted(url: string): boolean {
    return this.#hosts.get(new URL(url).origin)?.blacklistedUntil !== undefined;
  }

  /** Whether every message is delivered or dropped. */
  get idle(): boolean {
    for (const host of this.#hosts.values())
      if (host.items.length > 0 || host.running) return false;
    return true;
  }

  /** Queues one push to `url`. */
  enqueue(url: string, notification: HuaweiNotification): void {
    if (this.#closed) return;
    const origin = new URL(url).origin;
    let host = this.#hosts.get(origin);
    if (!host) {
      host = {
        items: [],
        failures: 0,
        blacklistedUntil: undefined,
        running: false,
        timer: undefined,
      };
      this.#hosts.set(origin, host);
    }
    // Compact JSON: the Java NA SDK matches `"notifyType":"..."` as a raw substring.
    host.items.push({
      url,
      notification,
      body: JSON.stringify(notification),
      enqueuedAt: Date.now(),
      attempts: 0,
    });
    this.#pump(host);
  }

  /** Stops retrying; resolves once the pushes under way are answered or timed out. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const host of this.#hosts.values()) {
      if (host.timer) clearTimeout(host.timer);
      host.timer = undefined;
    }
    await Promise.allSettled([...this.#running]);
  }

  #schedule(host: HostQueue, ms: number): void {
    if (host.timer || this.#closed) return;
    host.timer = setTimeout(() => {
      host.timer = undefined;
      this.#pump(host);
    }, ms);
  }

  /**
   * One push at a time per callback host, oldest first: a failed message is retried before later
   * ones, so a receiver sees each sub-task's states in order.
   */
  #pump(host: HostQueue): void {
    if (host.running || host.timer || this.#closed) return;
    host.running = true;
    const work = this.#drain(host)
      .catch((error: unknown) => this.#log.error({ err: error }, 'push failed'))
      .finally(() => {
        host.running = false;
        this.#running.delete(work);
        // A push queued between the drain's last look and here would otherwise wait for the next.
        if (host.items.length > 0) this.#pump(host);
      });
    this.#running.add(work);
  }

  async #drain(host: HostQueue): Promise<void> {
    const d = this.#options;
    while (host.items.length > 0 && !this.#closed) {
      const now = Date.now();
      // Items are in enqueue order: the expired ones are at the front.
      while (
        host.items.length > 0 &&
        now - (host.items[0] as Pending).enqueuedAt > d.messageTtlMs
      ) {
        const expired = host.items.shift() as Pending;
        this.#dropped.push(expired);
        this.#log.warn({ url: expired.url }, 'push dropped after the message cache time');
      }
      const item = host.items[0];
      if (!item) return;
      if (host.blacklistedUntil !== undefined && now < host.blacklistedUntil) {
        // Wake for the probe, or earlier when the oldest message runs out of cache time.
        const expiry = item.enqueuedAt + d.messageTtlMs + 1;
        this.#schedule(host, Math.min(host.blacklistedUntil, expiry) - now);
        return;
      }
      if (await this.#push(item)) {
        host.items.shift();
        host.failures = 0;
        host.blacklistedUntil = undefined;
        continue;
      }
      host.failures++;
      if (host.failures >= d.blacklistAfter) {
        host.blacklistedUntil = Date.now() + d.probeIntervalMs;
        this.#log.warn({ url: item.url, failures: host.failures }, 'callback host set aside');
        continue;
      }
      this.#schedule(host, d.retryIntervalMs);
      return;
    }
  }

  async #push(item: Pending): Promise<boolean> {
    item.attempts++;
    const record: DeliveryRecord = {
      url: item.url,
      notifyType: item.notification.notifyType,
      body: item.body,
      attempt: item.attempts,
      at: Date.now(),
      ok: false,
    };
    let response: HttpResponse | undefined;
    try {
      response = await httpRequest(item.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: item.body,
        timeoutMs: this.#options.timeoutMs,
        tls: this.#tls,
      });
      record.status = response.status;
      record.ok = response.status >= 200 && response.status < 300;
    } catch (error) {
      record.error = (error as Error).message;
    }
    this.#deliveries.push(record);
    return record.ok;
  }
}
