import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import type { Db, QueryResult, Sql } from './Db.js';
import { lockDataDir } from './dataDirLock.js';
import { StoreError } from './StoreError.js';

/** int8 stays text, as pg and postgres.js give it: PGlite alone would answer number or BigInt. */
const parsers = { [types.INT8]: (value: string) => value };

function misuse(): never {
  throw new StoreError(
    'TRANSACTION_MISUSE',
    'the root connection was used inside one of its transactions; use the transaction handle (PGlite has one session, so this would wait forever)',
  );
}

/**
 * Embedded PostgreSQL (PGlite) in `dataDir`, created on first use. One process at a time: a lock
 * file beside the directory refuses a second one. PGlite never fsyncs, so committed data survives a
 * crash of this process but not of the machine.
 */
export async function openPgliteDb(dataDir: string): Promise<Db> {
  mkdirSync(dataDir, { recursive: true });
  const release = lockDataDir(dataDir);
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dataDir, { parsers });
  } catch (error) {
    release();
    throw error;
  }
  // Marks the async work of an open transaction, where a root call would wait on itself.
  const inside = new AsyncLocalStorage<true>();
  let closed: Promise<void> | undefined;
  const wrap = (source: Pick<PGlite, 'query' | 'exec'>): Sql => ({
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const result = await source.query<R>(text, params as unknown[] | undefined);
      return { rows: result.rows, rowCount: result.affectedRows ?? 0 };
    },
    async exec(script: string) {
      await source.exec(script);
    },
  });
  const root = wrap(pglite);
  let busy = 0;
  const done = () => {
    busy--;
  };
  return {
    kind: 'pglite',
    location: dataDir,
    query<R>(text: string, params?: readonly unknown[]) {
      if (inside.getStore()) misuse();
      busy++;
      return root.query<R>(text, params).finally(done);
    },
    async exec(script) {
      if (inside.getStore()) misuse();
      busy++;
      await pglite.exec(script).finally(done);
    },
    transaction(work) {
      if (inside.getStore()) misuse();
      busy++;
      return pglite.transaction((tx) => inside.run(true, () => work(wrap(tx)))).finally(done);
    },
    // One session in this process: whatever is busy beyond one waits for PGlite's mutex.
    poolStats: () => ({ size: 1, busy }),
    async listen(channel, onPayload, onListen) {
      // In this process: the subscription never drops.
      const stop = await pglite.listen(channel, onPayload);
      onListen?.();
      return async () => stop();
    },
    close() {
      closed ??= pglite.close().finally(release);
      return closed;
    },
  };
}
