import type { Db } from './Db.js';
import { sql as initial } from './migrations/001_initial.js';
import { sql as listQueries } from './migrations/002_list_queries.js';
import { sql as changeNotify } from './migrations/003_change_notify.js';
import { sql as collections } from './migrations/004_collections.js';
import { sql as actionHistory } from './migrations/005_action_history.js';
import { sql as rolloutActions } from './migrations/006_rollout_actions.js';
import { sql as targetGroup } from './migrations/007_target_group.js';
import { sql as outbox } from './migrations/008_outbox.js';
import { sql as targetPollWrites } from './migrations/009_target_poll_writes.js';
import { sql as configurationNotify } from './migrations/010_configuration_notify.js';
import { StoreError } from './StoreError.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Numbered, forward-only: a new file gets the next number; an applied one is never edited. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', sql: initial },
  { version: 2, name: 'list_queries', sql: listQueries },
  { version: 3, name: 'change_notify', sql: changeNotify },
  { version: 4, name: 'collections', sql: collections },
  { version: 5, name: 'action_history', sql: actionHistory },
  { version: 6, name: 'rollout_actions', sql: rolloutActions },
  { version: 7, name: 'target_group', sql: targetGroup },
  { version: 8, name: 'outbox', sql: outbox },
  { version: 9, name: 'target_poll_writes', sql: targetPollWrites },
  { version: 10, name: 'configuration_notify', sql: configurationNotify },
];

/** Any number: it only has to be the same in every process that migrates this database. */
const MIGRATION_LOCK = 7_240_016_001;

/** FNV-1a over the text: enough to notice an applied migration that was edited. */
export function checksumOf(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * Brings the schema up to `upTo` (default: all), one transaction per migration under a
 * transaction-level advisory lock, so several backends starting at once apply each file once:
 * whoever waits reads the table again after the lock. Refuses a database whose applied migrations
 * were edited, or that is newer than this code. Returns the versions it applied.
 */
export async function migrate(
  db: Db,
  migrations: readonly Migration[] = MIGRATIONS,
  upTo = Number.POSITIVE_INFINITY,
): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const done: number[] = [];
  for (const migration of migrations) {
    if (migration.version > upTo) break;
    const applied = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const { rows } = await tx.query<{ version: number; checksum: string }>(
        'SELECT version, checksum FROM schema_migrations ORDER BY version',
      );
      const known = new Set(migrations.map((m) => m.version));
      const unknown = rows.find((r) => !known.has(r.version));
      if (unknown)
        throw new StoreError(
          'MIGRATION_UNKNOWN',
          `the database has migration ${unknown.version}, which this version does not know: it was written by a newer otaflow`,
        );
      const row = rows.find((r) => r.version === migration.version);
      if (row) {
        if (row.checksum !== checksumOf(migration.sql))
          throw new StoreError(
            'MIGRATION_CHANGED',
            `migration ${migration.version} (${migration.name}) changed since it was applied`,
          );
        return false;
      }
      await tx.exec(migration.sql);
      await tx.query(
        'INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
        [migration.version, migration.name, checksumOf(migration.sql)],
      );
      return true;
    });
    if (applied) done.push(migration.version);
  }
  return done;
}
