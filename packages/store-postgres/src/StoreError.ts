/** Every failure of this package carries one of these codes, so callers can switch on it. */
export type StoreErrorCode =
  /** Another live process holds the data directory's lock file. */
  | 'DATA_DIR_LOCKED'
  /** An applied migration's text changed since it ran: forward-only means never edited. */
  | 'MIGRATION_CHANGED'
  /** The database carries migrations newer than this code knows. */
  | 'MIGRATION_UNKNOWN'
  /** Neither or both of a database URL and a data directory, or a malformed one. */
  | 'INVALID_CONFIG'
  /** The root connection was used while one of its own transactions was open. */
  | 'TRANSACTION_MISUSE'
  /** The embedded database's worker thread is gone (closed, or it crashed). */
  | 'CLOSED';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
