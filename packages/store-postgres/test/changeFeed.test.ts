import { CachingUpdateStore, UpdateService } from '@otaflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChangeListener,
  type Db,
  migrate,
  openServerDb,
  PostgresUpdateStore,
  watchChanges,
} from '../src/index.js';
import { scratchDatabase, serverAvailable } from './databases.js';

const available = await serverAvailable();

/** A listener that records what it was told and lets a test wait for one controller id. */
function recorder(cache: CachingUpdateStore) {
  const waiting = new Map<string, () => void>();
  let all = 0;
  const listener: ChangeListener = {
    invalidate(id) {
      cache.invalidate(id);
      waiting.get(id)?.();
    },
    invalidateAll() {
      all++;
      cache.invalidateAll();
    },
  };
  return {
    listener,
    allCount: () => all,
    /** Resolves at the next notification for `id` (armed before the write that causes it). */
    next(id: string) {
      return new Promise<void>((resolve) => waiting.set(id, resolve));
    },
  };
}

describe.skipIf(!available)('change feed (PostgreSQL server): two backends, one database', () => {
  let drop: () => Promise<void>;
  let dbA: Db;
  let dbB: Db;
  beforeAll(async () => {
    const scratch = await scratchDatabase();
    drop = scratch.drop;
    dbA = await openServerDb(scratch.url);
    dbB = await openServerDb(scratch.url);
    await migrate(dbA);
  });
  afterAll(async () => {
    await dbA?.close();
    await dbB?.close();
    await drop?.();
  });

  it('a write committed on one is seen by the other once its notification arrives', async () => {
    const cacheA = new CachingUpdateStore(new PostgresUpdateStore(dbA, 't1', dbA));
    const cacheB = new CachingUpdateStore(new PostgresUpdateStore(dbB, 't1', dbB));
    const a = new UpdateService({ store: cacheA });
    const b = new UpdateService({ store: cacheB });
    const seenByB = recorder(cacheB);
    const feedB = await watchChanges(dbB, 't1', seenByB.listener);
    try {
      const created = seenByB.next('dev-1');
      await a.createTarget({ controllerId: 'dev-1' });
      await created;
      // B polls: both reads now come from its cache.
      expect((await b.getTarget('dev-1'))?.name).toBe('dev-1');
      await b.listActions('dev-1');
      const hits = cacheB.stats().hits;
      await b.getTarget('dev-1');
      expect(cacheB.stats().hits).toBe(hits + 1);

      const notified = seenByB.next('dev-1');
      await a.updateTarget('dev-1', { name: 'renamed' });
      await notified;
      expect((await b.getTarget('dev-1'))?.name).toBe('renamed');

      // An assignment on A: B's cached action list is forgotten too.
      const module = await a.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
      const set = await a.createDistributionSet({ name: 'fw', version: '1', modules: [module.id] });
      const assigned = seenByB.next('dev-1');
      await a.assign(set.id, [{ controllerId: 'dev-1' }]);
      await assigned;
      expect((await b.listActions('dev-1')).map((x) => x.active)).toEqual([true]);
    } finally {
      await feedB.close();
    }
  });

  it('tells a tenant only of its own targets, and nothing of a unit that rolled back', async () => {
    const cacheB = new CachingUpdateStore(new PostgresUpdateStore(dbB, 't2', dbB));
    const told: string[] = [];
    const feedB = await watchChanges(dbB, 't2', {
      invalidate: (id) => told.push(id),
      invalidateAll: () => cacheB.invalidateAll(),
    });
    try {
      const other = new UpdateService({ store: new PostgresUpdateStore(dbA, 't3', dbA) });
      const mine = new PostgresUpdateStore(dbA, 't2', dbA);
      const service = new UpdateService({ store: mine });
      await other.createTarget({ controllerId: 'foreign' });
      await expect(
        mine.transaction(async (tx) => {
          await new UpdateService({ store: tx }).createTarget({ controllerId: 'rolled-back' });
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      // A marker written last: notifications arrive in commit order, so once it is here,
      // anything earlier would be too.
      await service.createTarget({ controllerId: 'marker' });
      await expect.poll(() => told.includes('marker')).toBe(true);
      expect(told).toEqual(['marker']);
      expect(feedB.stats().notifications).toBe(1);
    } finally {
      await feedB.close();
    }
  });

  it('forgets everything after the listening connection was lost and came back', async () => {
    const cache = new CachingUpdateStore(new PostgresUpdateStore(dbB, 't4', dbB));
    const seen = recorder(cache);
    const feed = await watchChanges(dbB, 't4', seen.listener);
    try {
      expect(feed.stats().subscriptions).toBe(1);
      // Kill the LISTEN session from the other connection; postgres.js reconnects and listens again.
      await dbA.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'listen%'`,
      );
      await expect.poll(() => feed.stats().subscriptions, { timeout: 10_000 }).toBe(2);
      expect(seen.allCount()).toBe(1);
    } finally {
      await feed.close();
    }
  });
});
