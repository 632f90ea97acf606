import { AsyncLocalStorage } from 'node:async_hooks';
import postgres from 'postgres';
import type { Db, QueryResult, Sql } from './Db.js';
import { StoreError } from './StoreError.js';

export interface ServerDbOptions {
  /** Connections in the pool (postgres.js default: 10). */
  max?: number;
}

type Client = postgres.Sql | postgres.TransactionSql;

function wrap(client: Client): Sql {
  return {
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      // `unsafe` takes SQL text as it is (the same text PGlite runs); it is parameterised all the
      // same: values travel as bound parameters, never in the text.
      const result = await client.unsafe(
        text,
        (params ?? []) as postgres.ParameterOrJSON<never>[],
        {
          prepare: true,
        },
      );
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
  const sql = postgres(databaseUrl, { max: options.max ?? 10, onnotice: () => {} });
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
  return {
    kind: 'postgresql',
    location,
    query(text, params) {
      guard();
      return root.query(text, params);
    },
    exec(script) {
      guard();
      return root.exec(script);
    },
    async transaction(work) {
      guard();
      return (await sql.begin((tx) => inside.run(true, () => work(wrap(tx))))) as Awaited<
        ReturnType<typeof work>
      >;
    },
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
