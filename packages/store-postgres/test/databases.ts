import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { migrate, openPgliteDb } from '../src/index.js';

export const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Whether the PostgreSQL server answers. With CI=true a missing server fails the run; elsewhere
 * its tests are skipped, loudly.
 */
export async function serverAvailable(): Promise<boolean> {
  const sql = postgres(adminUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
    return true;
  } catch (error) {
    if (process.env.CI === 'true')
      throw new Error(`PostgreSQL at ${adminUrl} is required in CI`, { cause: error });
    console.warn(`SKIPPING PostgreSQL tests: no server at ${adminUrl} (${String(error)})`);
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

let counter = 0;

/** A new, empty database of its own; `drop` removes it. */
export async function scratchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `otaflow_test_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: async () => {
      const again = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await again.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.end();
    },
  };
}

/** A scratch directory under the OS's temporary directory; `remove` deletes it. */
export function scratchDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'otaflow-pglite-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * One migrated PGlite directory per test file (initdb costs seconds and most of a GB), copied for
 * every database a test needs.
 */
export async function pgliteTemplate(root: string): Promise<() => string> {
  const template = join(root, 'template');
  const db = await openPgliteDb(template);
  await migrate(db);
  await db.close();
  let copies = 0;
  return () => {
    const copy = join(root, `copy-${copies++}`);
    cpSync(template, copy, { recursive: true });
    return copy;
  };
}
