import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Db,
  MIGRATIONS,
  migrate,
  openPgliteDb,
  openPgliteWorkerDb,
  openStore,
  PostgresUpdateStore,
  StoreError,
} from '../src/index.js';
import { pgliteTemplate, scratchDir } from './databases.js';
import { describeOutbox } from './outboxContract.js';
import { describeUpdateStore, targetRecord } from './updateStoreContract.js';

const scratch = scratchDir();
let copyTemplate: () => string;
let db: Db;
let tenants = 0;

beforeAll(async () => {
  copyTemplate = await pgliteTemplate(scratch.dir);
  // The worker thread is how the backend runs PGlite; `openPgliteDb` (this thread) makes the
  // template and has its own test below.
  db = await openPgliteWorkerDb(copyTemplate());
}, 120_000);

afterAll(async () => {
  await db?.close();
  scratch.remove();
});

// One database for the contract; a tenant per test keeps the tests apart (and proves the scoping).
describeUpdateStore('PGlite', async () => new PostgresUpdateStore(db, `tenant-${tenants++}`, db));

// One session: both "backends" share it, as two relays in one process do.
describeOutbox('PGlite', async () => {
  const tenant = `outbox-${tenants++}`;
  return { a: new PostgresUpdateStore(db, tenant, db), b: new PostgresUpdateStore(db, tenant, db) };
});

describe('PGlite database', () => {
  it('migrated the template from an empty directory, and migrating again applies nothing', async () => {
    expect(await migrate(db)).toEqual([]);
    const { rows } = await db.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('refuses an applied migration that was edited', async () => {
    const edited = MIGRATIONS.map((m) => ({ ...m, sql: `${m.sql}\n-- edited` }));
    await expect(migrate(db, edited)).rejects.toMatchObject({ code: 'MIGRATION_CHANGED' });
  });

  it('keeps tenants apart', async () => {
    const a = new PostgresUpdateStore(db, 'tenant-a', db);
    const b = new PostgresUpdateStore(db, 'tenant-b', db);
    await a.putTarget(targetRecord('shared-id'), -1);
    await b.putTarget(targetRecord('shared-id', 0, 'other'), -1);
    expect((await a.getTarget('shared-id'))?.name).toBe('shared-id');
    expect((await b.getTarget('shared-id'))?.name).toBe('other');
    expect(await a.nextId('action')).toBe(1);
    expect(await b.nextId('action')).toBe(1);
  });

  it('runs in this thread too, with the same SQL and the same misuse guard', async () => {
    const main = await openPgliteDb(copyTemplate());
    try {
      expect(await migrate(main)).toEqual([]);
      await main.transaction(async (tx) => tx.query('SELECT 1'));
      const error = await main.transaction(async () => main.query('SELECT 1')).catch((e) => e);
      expect(error).toMatchObject({ code: 'TRANSACTION_MISUSE' });
    } finally {
      await main.close();
    }
  });

  it("keeps this thread's event loop free while a statement runs in the worker", async () => {
    let gap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
    }, 5);
    await db.query('SELECT count(*) FROM generate_series(1, 2000000)');
    clearInterval(timer);
    // In this thread the same statement holds the loop for about a second.
    expect(gap).toBeLessThan(250);
  });

  it('rolls back a failed transaction and reports SQL errors with their codes', async () => {
    await db.exec('CREATE TABLE IF NOT EXISTS worker_probe (x int)');
    const boom = await db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO worker_probe VALUES (1)');
        throw new Error('boom');
      })
      .catch((e: Error) => e.message);
    expect(boom).toBe('boom');
    expect((await db.query('SELECT count(*)::int AS n FROM worker_probe')).rows).toEqual([
      { n: 0 },
    ]);
    const missing = await db.query('SELECT * FROM no_such_table').catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: '42P01' });
  });

  it('turns a root call inside a transaction into an error, not a hang', async () => {
    const error = await db.transaction(async () => db.query('SELECT 1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'TRANSACTION_MISUSE' });
  });

  it('keeps its data across a close and a reopen, through openStore', async () => {
    const dir = copyTemplate();
    const first = await openStore({ dataDir: dir, tenant: 't' });
    await first.store.putTarget(targetRecord('durable'), -1);
    await first.close();
    const second = await openStore({ dataDir: dir, tenant: 't' });
    expect((await second.store.getTarget('durable'))?.controllerId).toBe('durable');
    await second.close();
  });

  it('refuses a data directory another live process holds, and reaps a dead one', async () => {
    const dir = copyTemplate();
    // A live process that is not this one: its PID in the lock file.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      writeFileSync(`${dir}.lock`, `${child.pid}\n`);
      const error = await openPgliteDb(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ code: 'DATA_DIR_LOCKED' });
      expect(String((error as Error).message)).toContain(String(child.pid));
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // The holder is dead now: its lock is reaped, and ours is taken and released on close.
    const opened = await openPgliteDb(dir);
    const again = await openPgliteDb(dir).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 'DATA_DIR_LOCKED' });
    await opened.close();
    const reopened = await openPgliteDb(dir);
    await reopened.close();
  });

  it('refuses both or neither of a URL and a directory', async () => {
    await expect(openStore({})).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(
      openStore({ databaseUrl: 'postgres://x', dataDir: join(scratch.dir, 'x') }),
    ).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
