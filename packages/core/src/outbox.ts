import type { DomainEvent } from './domainEvents.js';
import { OtaflowError } from './OtaflowError.js';
import type { UpdateStore } from './UpdateStore.js';

/** One domain event waiting in the outbox for one channel's consumer (SIE, commands, tasks). */
export interface OutboxEntry {
  /** Increasing in the order entries were written (committed units may interleave, so gaps). */
  id: number;
  channel: string;
  event: DomainEvent;
  /** Epoch ms of the write. */
  createdAt: number;
}

/** What a unit appends: the event once per channel that consumes it. */
export interface OutboxAppend {
  channel: string;
  event: DomainEvent;
}

export interface OutboxClaim {
  channel: string;
  /** At most this many entries. */
  limit: number;
  /** Who holds them: only this owner completes them while the lease runs. */
  owner: string;
  /** How long the claim lasts; then anyone may claim the entries again (their holder died). */
  leaseMs: number;
}

export interface OutboxChannelStats {
  channel: string;
  /** Entries written and not completed, claimed or not. */
  depth: number;
  /** Age of the oldest of them, ms (0 when there is none). */
  oldestAgeMs: number;
}

/** The store's outbox operations: `UpdateStore` implementations that carry an outbox have all four. */
export interface OutboxStore {
  /** Joins the unit when called on a unit's `tx`, so the entries commit with the change. */
  appendOutbox(entries: readonly OutboxAppend[]): Promise<void>;
  /**
   * Takes up to `limit` entries of the channel, oldest first, that nobody holds (or whose lease
   * ran out, or that `owner` holds already), for `leaseMs`. Never inside a unit.
   */
  claimOutbox(claim: OutboxClaim): Promise<OutboxEntry[]>;
  /** Deletes the entries of `ids` that `owner` still holds; answers how many it deleted. */
  completeOutbox(ids: readonly number[], owner: string): Promise<number>;
  /** Depth and oldest age of every channel with entries. */
  outboxStats(): Promise<OutboxChannelStats[]>;
}

/** The store's outbox, or a typed error when this store has none. */
export function outboxOf(store: UpdateStore): OutboxStore {
  const s = store as UpdateStore & Partial<OutboxStore>;
  if (!s.appendOutbox || !s.claimOutbox || !s.completeOutbox || !s.outboxStats)
    throw new OtaflowError('OUTBOX_UNSUPPORTED', 'this store keeps no outbox');
  return s as OutboxStore;
}
