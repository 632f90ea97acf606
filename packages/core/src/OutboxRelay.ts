import { type OutboxChannelStats, type OutboxEntry, type OutboxStore, outboxOf } from './outbox.js';
import type { UpdateStore } from './UpdateStore.js';

/** Hands a batch on (publishes it, sends it); resolves once the receiver has acknowledged all of it. */
export type OutboxSink = (entries: readonly OutboxEntry[]) => Promise<void>;

export interface OutboxRelayOptions {
  /** The root store (never a unit's `tx`). */
  store: UpdateStore;
  channel: string;
  sink: OutboxSink;
  /** Who holds the claims: unique per relay (default: random). */
  owner?: string;
  /** Entries per claim (default 100). */
  batchSize?: number;
  /**
   * How long a claim lasts (default 30 s): when its holder dies, the entries come back after it.
   * Longer than a sink takes, or another relay delivers them once more meanwhile.
   */
  leaseMs?: number;
  /** How often an idle relay looks again without a nudge (default 1000 ms). */
  pollMs?: number;
  /** First wait after a failed batch, doubled per failure up to `maxBackoffMs` (100 ms, 30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A failed claim, sink or completion; the relay retries. */
  onError?: (error: unknown) => void;
}

export interface OutboxRelayStats {
  channel: string;
  /** Entries the sink acknowledged and this relay completed. */
  delivered: number;
  /** Batches the sink or the store refused. */
  failures: number;
}

function randomOwner(): string {
  return `relay-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Moves one outbox channel to its sink: claims a bounded batch, hands it on, deletes it when the
 * sink resolved, and backs off when it rejected (the entries stay claimed by this relay and are
 * claimed again on the next try; should it die, the lease runs out and another relay takes them).
 * Delivery is at least once: a crash between the sink and the completion sends a batch again,
 * with the same entry ids, which is what consumers deduplicate on. Between batches the relay
 * yields to the event loop, so device requests never queue behind a long backlog.
 */
export class OutboxRelay {
  readonly channel: string;
  readonly owner: string;
  readonly #outbox: OutboxStore;
  readonly #sink: OutboxSink;
  readonly #batchSize: number;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #onError: (error: unknown) => void;
  #running = false;
  #loop: Promise<void> | undefined;
  /** Set by a nudge while a batch was under way: look again at once. */
  #nudged = false;
  #wake: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #delivered = 0;
  #failures = 0;

  constructor(options: OutboxRelayOptions) {
    this.#outbox = outboxOf(options.store);
    this.channel = options.channel;
    this.#sink = options.sink;
    this.owner = options.owner ?? randomOwner();
    this.#batchSize = options.batchSize ?? 100;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#pollMs = options.pollMs ?? 1000;
    this.#backoffMs = options.backoffMs ?? 100;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#onError = options.onError ?? (() => {});
  }

  start(): this {
    if (this.#running) return this;
    this.#running = true;
    this.#loop = this.#run();
    return this;
  }

  /** Something was committed to the outbox: look now rather than at the next poll. */
  nudge(): void {
    this.#nudged = true;
    this.#wake?.();
  }

  /** Stops after the batch under way (its sink and completion) has finished. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  stats(): OutboxRelayStats {
    return { channel: this.channel, delivered: this.#delivered, failures: this.#failures };
  }

  /** Depth and oldest age of this relay's channel, as the store has them now. */
  async backlog(): Promise<OutboxChannelStats> {
    const all = await this.#outbox.outboxStats();
    return (
      all.find((s) => s.channel === this.channel) ?? {
        channel: this.channel,
        depth: 0,
        oldestAgeMs: 0,
      }
    );
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      this.#nudged = false;
      let claimed = 0;
      try {
        const entries = await this.#outbox.claimOutbox({
          channel: this.channel,
          limit: this.#batchSize,
          owner: this.owner,
          leaseMs: this.#leaseMs,
        });
        claimed = entries.length;
        if (claimed > 0) {
          await this.#sink(entries);
          this.#delivered += await this.#outbox.completeOutbox(
            entries.map((e) => e.id),
            this.owner,
          );
        }
        failures = 0;
      } catch (error) {
        this.#failures++;
        failures++;
        this.#onError(error);
        if (!this.#running) {
          // Stopping (its adapter closed under the batch): give the claim back at once rather
          // than at the end of the lease. Claiming one's own entries for 0 ms does just that.
          await this.#outbox
            .claimOutbox({
              channel: this.channel,
              limit: this.#batchSize,
              owner: this.owner,
              leaseMs: 0,
            })
            .catch(() => {});
          break;
        }
        await this.#sleep(Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** (failures - 1)));
        continue;
      }
      if (claimed === this.#batchSize || this.#nudged) await this.#sleep(0);
      else await this.#sleep(this.#pollMs, true);
    }
  }

  /** Waits `ms` (0: one turn of the event loop); a nudge ends an idle wait early, a stop any wait. */
  #sleep(ms: number, idle = false): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#wake = undefined;
        resolve();
      };
      this.#wake = () => {
        if (idle || !this.#running) done();
      };
      if (idle && this.#nudged) return done();
      this.#timer = setTimeout(done, ms);
    });
  }
}
