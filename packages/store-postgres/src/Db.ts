/** What one statement answers, the same on every driver: rows with int8 as text, and a count. */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** One connection's worth of SQL: `$n` placeholders, one statement per call. */
export interface Sql {
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>>;
  /** Several statements, no parameters: migrations. */
  exec(script: string): Promise<void>;
}

/** What the connection pool can say of itself, for metrics. */
export interface DbPoolStats {
  /** Connections the pool may open (PGlite: its single session). */
  size: number;
  /**
   * Statements and transactions under way through the root handle. Above `size`, the rest wait
   * for a connection (postgres.js queues them; it reports no idle/waiting counts of its own).
   */
  busy: number;
}

/**
 * A database behind either connection (a PostgreSQL server or embedded PGlite), with the same SQL
 * text on both. Repositories take `Sql`; only the store's root holds a `Db`.
 */
export interface Db extends Sql {
  /** Commits when `work` resolves, rolls back when it throws. Inside, use `tx` only. */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Notifications on `channel`; resolves to the function that stops listening. `onListen` runs
   * each time the subscription is (re)established: after a reconnect, notifications sent while
   * the connection was down are lost, and the listener must assume anything changed.
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onListen?: () => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
  poolStats(): DbPoolStats;
  /** What the ready line names: `postgresql` or `pglite`, and where. */
  readonly kind: 'postgresql' | 'pglite';
  readonly location: string;
}
