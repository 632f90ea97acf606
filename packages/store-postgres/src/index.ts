export {
  CHANGE_CHANNEL,
  type ChangeFeed,
  type ChangeListener,
  CONFIGURATION_CHANGED,
  watchChanges,
} from './changeFeed.js';
export type { Db, DbPoolStats, QueryResult, Sql } from './Db.js';
export { lockDataDir } from './dataDirLock.js';
export { checksumOf, MIGRATIONS, type Migration, migrate } from './migrations.js';
export { openPgliteDb } from './openPgliteDb.js';
export { openPgliteWorkerDb } from './openPgliteWorkerDb.js';
export { openServerDb, type ServerDbOptions } from './openServerDb.js';
export { type OpenedStore, type OpenStoreOptions, openStore } from './openStore.js';
export { OUTBOX_CHANNEL, type OutboxFeed, watchOutbox } from './outboxFeed.js';
export { PostgresUpdateStore } from './PostgresUpdateStore.js';
export { StoreError, type StoreErrorCode } from './StoreError.js';
