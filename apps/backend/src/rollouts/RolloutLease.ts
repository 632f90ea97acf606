import { randomUUID } from 'node:crypto';
import { type Collection, defineCollection, OtaflowError, type UpdateService } from '@otaflow/core';

interface LeaseRecord {
  id: number;
  revision: number;
  name: string;
  owner: string;
  until: number;
}

/** One fixed id: two backends creating the first lease collide on it instead of making two. */
const LEASE_ID = 1;

const LEASES: Collection<LeaseRecord> = defineCollection<LeaseRecord>('lease', {
  name: { type: 'string' },
});

/**
 * Who evaluates rollouts: one backend at a time among those sharing a store. The lease is a
 * stored record written with the store's optimistic revision, so two backends racing for it
 * cannot both win, on any store; the holder renews it each round, and another takes it over once
 * it has expired (its holder died or hangs).
 */
export class RolloutLease {
  readonly owner: string;
  readonly #service: UpdateService;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(
    service: UpdateService,
    options: { ttlMs: number; now?: () => number; owner?: string },
  ) {
    this.#service = service;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.owner = options.owner ?? randomUUID();
  }

  /** True when this backend holds the lease for the next `ttlMs`. */
  async acquire(): Promise<boolean> {
    const leases = this.#service.collection(LEASES);
    const now = this.#now();
    const current = await leases.get(LEASE_ID);
    if (current && current.owner !== this.owner && current.until > now) return false;
    const next: LeaseRecord = {
      id: LEASE_ID,
      revision: (current?.revision ?? -1) + 1,
      name: 'rollouts',
      owner: this.owner,
      until: now + this.#ttlMs,
    };
    try {
      await leases.put(next, current ? current.revision : -1);
      return true;
    } catch (error) {
      if (error instanceof OtaflowError && error.code === 'CONFLICT') return false;
      throw error;
    }
  }

  /** Gives the lease up at shutdown, so that another backend need not wait for it to expire. */
  async release(): Promise<void> {
    const leases = this.#service.collection(LEASES);
    const current = await leases.get(LEASE_ID);
    if (current?.owner !== this.owner) return;
    try {
      await leases.put({ ...current, revision: current.revision + 1, until: 0 }, current.revision);
    } catch (error) {
      if (!(error instanceof OtaflowError && error.code === 'CONFLICT')) throw error;
    }
  }
}
