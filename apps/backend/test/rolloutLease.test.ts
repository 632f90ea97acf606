import { MemoryUpdateStore, UpdateService } from '@otaflow/core';
import { describe, expect, it } from 'vitest';
import { RolloutLease } from '../src/rollouts/RolloutLease.js';

describe('rollout lease', () => {
  it('lets one of several backends on one store evaluate, and another take over once it expired', async () => {
    let now = 1_000;
    const store = new MemoryUpdateStore();
    // Two backends: two services over the one store, as two processes over one database.
    const a = new RolloutLease(new UpdateService({ store }), { ttlMs: 10_000, now: () => now });
    const b = new RolloutLease(new UpdateService({ store }), { ttlMs: 10_000, now: () => now });
    const [first, second] = await Promise.all([a.acquire(), b.acquire()]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    const holder = first ? a : b;
    const other = first ? b : a;
    // The holder renews; the other keeps out while the lease runs.
    now += 9_000;
    expect(await holder.acquire()).toBe(true);
    expect(await other.acquire()).toBe(false);
    // The holder stops renewing (it died): after the lease runs out, the other takes over.
    now += 10_001;
    expect(await other.acquire()).toBe(true);
    expect(await holder.acquire()).toBe(false);
    // A clean shutdown hands it over at once.
    await other.release();
    expect(await holder.acquire()).toBe(true);
  });
});
