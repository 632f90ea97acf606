import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Db,
  MIGRATIONS,
  migrate,
  openServerDb,
  openStore,
  PostgresUpdateStore,
} from '../src/index.js';
import { scratchDatabase, serverAvailable } from './databases.js';
import { describeUpdateStore, targetRecord } from './updateStoreContract.js';

const available = await serverAvailable();
const dropAfter: Array<() => Promise<void>> = [];
let db: Db;
let tenants = 0;

describe.skipIf(!available)('PostgreSQL server', () => {
  beforeAll(async () => {
    const scratch = await scratchDatabase();
    dropAfter.push(scratch.drop);
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
        expect([...a, ...b].sort()).toEqual(
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
