import { UpdateService } from '@otaflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Db,
  MIGRATIONS,
  migrate,
  openServerDb,
  openStore,
  PostgresUpdateStore,
  watchOutbox,
} from '../src/index.js';
import { scratchDatabase, serverAvailable } from './databases.js';
import { describeOutbox } from './outboxContract.js';
import { describeUpdateStore, targetRecord } from './updateStoreContract.js';

const available = await serverAvailable();
const dropAfter: Array<() => Promise<void>> = [];
let db: Db;
let scratchUrl = '';
let tenants = 0;

describe.skipIf(!available)('PostgreSQL server', () => {
  beforeAll(async () => {
    const scratch = await scratchDatabase();
    dropAfter.push(scratch.drop);
    scratchUrl = scratch.url;
    db = await openServerDb(scratch.url);
    dropAfter.push(() => db.close());
    await migrate(db);
  });

  afterAll(async () => {
    for (const undo of dropAfter.reverse()) await undo();
  });

  describeUpdateStore(
    'PostgreSQL',
    async () => new PostgresUpdateStore(db, `tenant-${tenants++}`, db),
  );

  // Two connections (two pools): what two backends on one database see.
  let dbB: Db | undefined;
  describeOutbox('PostgreSQL', async () => {
    if (!dbB) {
      dbB = await openServerDb(scratchUrl);
      dropAfter.push(() => dbB!.close());
    }
    const tenant = `outbox-${tenants++}`;
    return {
      a: new PostgresUpdateStore(db, tenant, db),
      b: new PostgresUpdateStore(dbB, tenant, dbB),
    };
  });

  it('tells another connection of committed outbox entries of its tenant, never of a rolled-back unit', async () => {
    const other = await openServerDb(scratchUrl);
    const heard: (string | undefined)[] = [];
    let arrived: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const feed = await watchOutbox(other, 'feed', (channel) => {
      heard.push(channel);
      if (channel === 'last') arrived();
    });
    try {
      const store = new PostgresUpdateStore(db, 'feed', db);
      const elsewhere = new PostgresUpdateStore(db, 'feed-other', db);
      const entry = (channel: string) => ({
        channel,
        event: {
          type: 'TARGET_DELETED' as const,
          controllerId: 'd',
          updateStatus: 'UNKNOWN' as const,
          timestamp: 1,
        },
      });
      await expect(
        store.transaction(async (tx) => {
          await tx.appendOutbox!([entry('rolled-back')]);
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      await elsewhere.appendOutbox([entry('other-tenant')]);
      await store.transaction((tx) =>
        tx.appendOutbox!([entry('sie'), entry('sie'), entry('commands')]),
      );
      await store.appendOutbox([entry('last')]);
      await done; // notifications come in commit order: everything before `last` is here
      expect(heard.sort()).toEqual(['commands', 'last', 'sie']);
    } finally {
      await feed.close();
      await other.close();
    }
  });

  // From an empty database and from every earlier version: up to v, then all the way.
  for (let from = 0; from < MIGRATIONS.length; from++) {
    it(`migrates from version ${from} to the latest, and once only`, async () => {
      const scratch = await scratchDatabase();
      const fresh = await openServerDb(scratch.url);
      try {
        expect(await migrate(fresh, MIGRATIONS, from)).toEqual(
          MIGRATIONS.filter((m) => m.version <= from).map((m) => m.version),
        );
        // Two backends starting at once: the advisory lock lets each file run once.
        const [a, b] = await Promise.all([migrate(fresh), migrate(fresh)]);
        expect([...a, ...b].sort((x, y) => x - y)).toEqual(
          MIGRATIONS.filter((m) => m.version > from).map((m) => m.version),
        );
        const store = new PostgresUpdateStore(fresh, 't', fresh);
        await store.putTarget(targetRecord('after-migration'), -1);
        expect(await store.getTarget('after-migration')).toBeDefined();
      } finally {
        await fresh.close();
        await scratch.drop();
      }
    });
  }

  it('writes a poll time as a HOT update: no index entry for it', async () => {
    // A database of its own: the other tests' rows leave no page without room.
    const scratch = await scratchDatabase();
    const own = await openServerDb(scratch.url);
    dropAfter.push(async () => {
      await own.close();
      await scratch.drop();
    });
    await migrate(own);
    const tenant = 'hot';
    const store = new PostgresUpdateStore(own, tenant, own);
    await store.putNewTargets(['h1', 'h2', 'h3'].map((id) => targetRecord(id)));
    const hot = await own.transaction(async (tx) => {
      await new PostgresUpdateStore(tx, tenant).touchTargets(
        ['h1', 'h2', 'h3'].map((controllerId) => ({ controllerId, at: 5_000 })),
      );
      // This transaction's own counts: no other test's writes in them.
      const { rows } = await tx.query<{ upd: string; hot: string }>(
        `SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_xact_user_tables
          WHERE relname = 'targets'`,
      );
      return rows[0];
    });
    expect(hot).toEqual({ upd: '3', hot: '3' });
    expect((await store.getTarget('h2'))?.state.context).toMatchObject({ lastContactAt: 5_000 });
  });

  it('skips a poll time of a target another unit holds, instead of waiting for it', async () => {
    const scratch = await scratchDatabase();
    const [first, second] = [await openServerDb(scratch.url), await openServerDb(scratch.url)];
    dropAfter.push(async () => {
      await first.close();
      await second.close();
      await scratch.drop();
    });
    await migrate(first);
    const store = new PostgresUpdateStore(first, 't', first);
    await store.putNewTargets([targetRecord('held'), targetRecord('free')]);
    // A unit of another backend (an assignment, say) holds 'held' while the batch comes in.
    await second.transaction(async (tx) => {
      await tx.query(
        `SELECT 1 FROM targets WHERE tenant = 't' AND controller_id = 'held' FOR UPDATE`,
      );
      await store.touchTargets([
        { controllerId: 'held', at: 7_000 },
        { controllerId: 'free', at: 7_000 },
      ]);
    });
    expect((await store.getTarget('free'))?.state.context).toMatchObject({ lastContactAt: 7_000 });
    expect((await store.getTarget('held'))?.state.context).not.toHaveProperty('lastContactAt');
  });

  it("appends a report's status rows and rewrites none of the earlier ones", async () => {
    const tenant = `history-${tenants++}`;
    const store = new PostgresUpdateStore(db, tenant, db);
    const service = new UpdateService({ store, maxHistory: 3 });
    const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
    const set = await service.createDistributionSet({
      name: 'fw',
      version: '1',
      modules: [module.id],
    });
    await service.createTarget({ controllerId: 'd' });
    const [action] = (await service.assign(set.id, [{ controllerId: 'd' }])).actions;
    const rows = async () =>
      (
        await db.query<{ seq: string; xmin: string }>(
          'SELECT seq, xmin::text AS xmin FROM action_status WHERE tenant = $1 AND action_id = $2 ORDER BY seq',
          [tenant, action!.id],
        )
      ).rows;
    const before = await rows();
    for (let i = 0; i < 4; i++)
      await service.apply(action!.id, {
        type: 'action.proceeding',
        at: 5_000 + i,
        messages: [`r${i}`],
      });
    const after = await rows();
    // Every row there was is there as it was (same transaction id: never updated), four more.
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after).toHaveLength(before.length + 4);
    // The record still carries the bounded window, as the memory store's does.
    const history = (await service.getActionHistory(action!.id))!;
    expect(history.map((e) => e.messages?.[0])).toEqual(['r1', 'r2', 'r3']);
  });

  it("moves each action's history into rows when migrating from version 4", async () => {
    const scratch = await scratchDatabase();
    const fresh = await openServerDb(scratch.url);
    try {
      await migrate(fresh, MIGRATIONS, 4);
      const record = {
        id: 7,
        controllerId: 'd',
        version: 2,
        state: {
          v: 1,
          value: 'running',
          context: {
            id: 7,
            controllerId: 'd',
            status: 'RUNNING',
            maxHistory: 2,
            historyDropped: 3,
            history: [
              { status: 'RUNNING', at: 4 },
              { status: 'RUNNING', at: 5, messages: ['ä'] },
            ],
          },
        },
      };
      await fresh.query(
        `INSERT INTO actions (tenant, id, controller_id, version, status, active, distribution_set_id, created_at, state)
         VALUES ('t', 7, 'd', 2, 'RUNNING', true, 1, now(), $1::text::jsonb)`,
        [JSON.stringify(record.state)],
      );
      await migrate(fresh);
      const store = new PostgresUpdateStore(fresh, 't', fresh);
      expect(await store.getAction(7)).toEqual(record);
      const { rows } = await fresh.query<{ seq: string }>(
        'SELECT seq FROM action_status ORDER BY seq',
      );
      expect(rows.map((r) => Number(r.seq))).toEqual([4, 5]);
    } finally {
      await fresh.close();
      await scratch.drop();
    }
  });

  it('answers a deadlock between two units with CONFLICT, which callers retry', async () => {
    const tenant = `deadlock-${tenants++}`;
    const store = new PostgresUpdateStore(db, tenant, db);
    await store.putTarget(targetRecord('a'), -1);
    await store.putTarget(targetRecord('b'), -1);
    let arrived = 0;
    let release: () => void = () => {};
    const bothLocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Each unit locks one row, waits until the other holds its row, then wants the other's.
    const unit = (first: string, second: string) =>
      db.transaction(async (tx) => {
        await tx.query(
          'SELECT 1 FROM targets WHERE tenant = $1 AND controller_id = $2 FOR UPDATE',
          [tenant, first],
        );
        if (++arrived === 2) release();
        await bothLocked;
        await tx.query(
          'SELECT 1 FROM targets WHERE tenant = $1 AND controller_id = $2 FOR UPDATE',
          [tenant, second],
        );
      });
    const results = await Promise.allSettled([unit('a', 'b'), unit('b', 'a')]);
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toMatchObject({ code: 'CONFLICT' });
  });

  it('opens through openStore with a URL', async () => {
    const scratch = await scratchDatabase();
    const opened = await openStore({ databaseUrl: scratch.url, tenant: 't' });
    try {
      expect(opened.db.kind).toBe('postgresql');
      await opened.store.putTarget(targetRecord('x'), -1);
      expect((await opened.store.listTargets()).total).toBe(1);
    } finally {
      await opened.close();
      await scratch.drop();
    }
  });
});
