import { AsyncLocalStorage } from 'node:async_hooks';
import { OtaflowError } from '@otaflow/core';
import postgres from 'postgres';
import type { Db, QueryResult, Sql } from './Db.js';
import { StoreError } from './StoreError.js';

export interface ServerDbOptions {
  /** Connections in the pool (postgres.js default: 10). */
  max?: number;
}

type Client = postgres.Sql | postgres.TransactionSql;

/**
 * A deadlock (40P01) or a serialization failure (40001) means another writer got in the way,
 * as a version conflict does: core's `CONFLICT`, which callers retry (the unit was rolled back).
 */
function asConflict(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001'
    ? new OtaflowError('CONFLICT', `concurrent writers: ${(error as Error).message}`)
    : error;
}

function wrap(client: Client): Sql {
  return {
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      // `unsafe` takes SQL text as it is (the same text PGlite runs); it is parameterised all the
      // same: values travel as bound parameters, never in the text.
      const result = await client
        .unsafe(text, (params ?? []) as postgres.ParameterOrJSON<never>[], {
          prepare: true,
        })
        .catch((error: unknown) => {
          throw asConflict(error);
        });
      return { rows: result as unknown as R[], rowCount: result.count ?? 0 };
    },
    async exec(script: string) {
      await client.unsafe(script);
    },
  };
}

/** A PostgreSQL server (15 or later) through postgres.js: a pool, pipelined, int8 as text. */
export async function openServerDb(
  databaseUrl: string,
  options: ServerDbOptions = {},
): Promise<Db> {
  let location: string;
  try {
    const url = new URL(databaseUrl);
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error('scheme');
    // Never print a password in the ready line.
    if (url.password) url.password = '***';
    location = url.href;
  } catch {
    throw new StoreError(
      'INVALID_CONFIG',
      'the database URL must look like postgres://user@host:port/database',
    );
  }
  const size = options.max ?? 10;
  const sql = postgres(databaseUrl, { max: size, onnotice: () => {} });
  // Fail at start, not on the first request, when the server is not there.
  await sql.unsafe('SELECT 1');
  const inside = new AsyncLocalStorage<true>();
  const guard = () => {
    if (inside.getStore())
      throw new StoreError(
        'TRANSACTION_MISUSE',
        'the root connection was used inside one of its transactions; use the transaction handle',
      );
  };
  const root = wrap(sql);
  let closed: Promise<void> | undefined;
  let busy = 0;
  const done = () => {
    busy--;
  };
  return {
    kind: 'postgresql',
    location,
    query<R>(text: string, params?: readonly unknown[]) {
      guard();
      busy++;
      return root.query<R>(text, params).finally(done);
    },
    exec(script) {
      guard();
      busy++;
      return root.exec(script).finally(done);
    },
    async transaction(work) {
      guard();
      busy++;
      try {
        return (await sql.begin((tx) => inside.run(true, () => work(wrap(tx))))) as Awaited<
          ReturnType<typeof work>
        >;
      } catch (error) {
        throw asConflict(error);
      } finally {
        busy--;
      }
    },
    poolStats: () => ({ size, busy }),
    async listen(channel, onPayload, onListen) {
      const { unlisten } = await sql.listen(channel, onPayload, onListen);
      return unlisten;
    },
    close() {
      closed ??= sql.end({ timeout: 5 });
      return closed;
    },
  };
}
