import type { Db } from './Db.js';
import { migrate } from './migrations.js';
import { openPgliteDb } from './openPgliteDb.js';
import { openPgliteWorkerDb } from './openPgliteWorkerDb.js';
import { openServerDb } from './openServerDb.js';
import { PostgresUpdateStore } from './PostgresUpdateStore.js';
import { StoreError } from './StoreError.js';

export interface OpenStoreOptions {
  /** A PostgreSQL server, `postgres://...`. */
  databaseUrl?: string;
  /** Embedded PGlite in this directory (created on first use). */
  dataDir?: string;
  /** Whose rows: every statement is scoped to it. */
  tenant?: string;
  /**
   * Where PGlite runs: in a worker thread (default), so that its statements never hold this
   * thread's event loop, or in this thread (`main`: less memory, no message round trip).
   */
  pgliteThread?: 'worker' | 'main';
}

export interface OpenedStore {
  store: PostgresUpdateStore;
  db: Db;
  /** Closes the connection (and, for PGlite, checkpoints and frees the directory's lock). */
  close(): Promise<void>;
}

/** Opens the database, brings its schema up to date and returns the tenant's store. */
export async function openStore(options: OpenStoreOptions): Promise<OpenedStore> {
  const { databaseUrl, dataDir } = options;
  if ((databaseUrl === undefined) === (dataDir === undefined))
    throw new StoreError(
      'INVALID_CONFIG',
      'give exactly one of a database URL and a data directory',
    );
  const db =
    databaseUrl !== undefined
      ? await openServerDb(databaseUrl)
      : options.pgliteThread === 'main'
        ? await openPgliteDb(dataDir!)
        : await openPgliteWorkerDb(dataDir!);
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  const store = new PostgresUpdateStore(db, options.tenant ?? 'default', db);
  return { store, db, close: () => db.close() };
}
