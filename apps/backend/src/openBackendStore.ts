import { randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CachingUpdateStore, MemoryUpdateStore, type UpdateStore } from '@otaflow/core';
import {
  checksumOf,
  type DbPoolStats,
  lockDataDir,
  MIGRATIONS,
  type OpenedStore,
  openStore,
  PostgresUpdateStore,
  watchChanges,
  watchOutbox,
} from '@otaflow/store-postgres';
import type { BackendConfig } from './config.js';
import type { Logger } from './logger.js';
import type { OutboxWakeups } from './outbox/startRelays.js';

/** Where the state is, as the ready line shows it. */
export interface StoreDescription {
  store: 'memory' | 'pglite' | 'postgres';
  /** The data directory, or the server's URL with its password masked. */
  storeLocation?: string;
  artifactsDir?: string;
}

export interface BackendStore {
  /** The default tenant's store. */
  store: UpdateStore;
  /**
   * Another tenant's store on the same database (each statement scoped to it), with its own
   * poll cache; or a new memory store. Closed with the rest.
   */
  storeOf(tenant: string): Promise<UpdateStore>;
  description: StoreDescription;
  /** The artifact blobs' directory; undefined: a temporary one (memory store, no data dir). */
  artifactsDir: string | undefined;
  /** The database's connections, for metrics; none for the memory store. */
  poolStats?: () => DbPoolStats;
  /**
   * Calls `listener` when another backend (or this one) committed a change to `tenant`'s
   * configuration; none for the memory store, whose backend is the only one.
   */
  onConfigurationChange?(tenant: string, listener: () => void): () => void;
  /** A tenant's outbox wake-ups from every backend on the database (none for the memory store). */
  outboxWakeups?: (tenant: string) => OutboxWakeups;
  close(): Promise<void>;
}

/** `$XDG_DATA_HOME/otaflow`, else `~/.local/share/otaflow` (where the XDG spec puts user data). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME?.trim() || join(homedir(), '.local', 'share');
  return join(base, 'otaflow');
}

/** `$XDG_CACHE_HOME/otaflow`, else `~/.cache/otaflow`: things that can be rebuilt. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME?.trim() || join(homedir(), '.cache');
  return join(base, 'otaflow');
}

/**
 * The state the configuration asks for: `memory`; a PostgreSQL server (`databaseUrl`); or, by
 * default, PGlite in `<dataDir>/pglite` with artifacts in `<dataDir>/artifacts`. A new PGlite
 * directory starts as a copy of a migrated template kept in the cache directory, since initdb
 * costs 6-7 s and a copy well under one.
 */
export async function openBackendStore(
  config: BackendConfig,
  options: { logger: Logger; env?: NodeJS.ProcessEnv },
): Promise<BackendStore> {
  const env = options.env ?? process.env;
  if (config.store === 'memory') {
    const artifactsDir = config.dataDir === undefined ? undefined : resolve(config.dataDir);
    return {
      store: new MemoryUpdateStore(),
      storeOf: async () => new MemoryUpdateStore(),
      description: { store: 'memory', ...(artifactsDir ? { artifactsDir } : {}) },
      artifactsDir,
      close: async () => {},
    };
  }
  const dataDir = resolve(config.dataDir ?? defaultDataDir(env));
  const artifactsDir = join(dataDir, 'artifacts');
  await mkdir(dataDir, { recursive: true });
  if (config.databaseUrl !== undefined) {
    const opened = await openStore({ databaseUrl: config.databaseUrl, tenant: config.tenant });
    return {
      ...(await withPollCache(opened, config)),
      outboxWakeups: wakeupsOf(opened),
      description: { store: 'postgres', storeLocation: masked(config.databaseUrl), artifactsDir },
      artifactsDir,
    };
  }
  const pgliteDir = join(dataDir, 'pglite');
  if (!existsSync(pgliteDir))
    await copyTemplate(pgliteDir, defaultCacheDir(env), options.logger).catch((error) =>
      options.logger.warn({ err: error }, 'no PGlite template: creating the database from scratch'),
    );
  let opened: Awaited<ReturnType<typeof openStore>>;
  try {
    opened = await openStore({
      dataDir: pgliteDir,
      tenant: config.tenant,
      pgliteThread: config.pgliteThread,
    });
  } catch (error) {
    if (!copiedFromTemplate.has(pgliteDir)) throw error;
    // A template of an older PGlite may not open: start that new directory the slow way.
    options.logger.warn({ err: error }, 'PGlite template unusable: creating the database');
    await rm(pgliteDir, { recursive: true, force: true });
    opened = await openStore({
      dataDir: pgliteDir,
      tenant: config.tenant,
      pgliteThread: config.pgliteThread,
    });
  }
  return {
    ...(await withPollCache(opened, config)),
    outboxWakeups: wakeupsOf(opened),
    description: { store: 'pglite', storeLocation: dataDir, artifactsDir },
    artifactsDir,
  };
}

/**
 * The database's store behind core's `CachingUpdateStore`, told of every other backend's commits
 * by the database's change notifications: a poll of a target whose state did not change reads
 * nothing from the database. `--poll-cache 0` turns it off.
 */
async function withPollCache(
  opened: OpenedStore,
  config: BackendConfig,
): Promise<
  Pick<BackendStore, 'store' | 'storeOf' | 'poolStats' | 'onConfigurationChange' | 'close'>
> {
  const poolStats = () => opened.db.poolStats();
  const feeds: Array<{ close(): Promise<void> }> = [];
  const configured = new Map<string, Set<() => void>>();
  // One feed per tenant: its targets' changes for the poll cache, its configuration's for the
  // tenant's settings (migration 010), from every backend on the database.
  const cached = async (store: UpdateStore, tenant: string): Promise<UpdateStore> => {
    const cache =
      config.pollCacheEntries === 0
        ? undefined
        : new CachingUpdateStore(store, { maxEntries: config.pollCacheEntries });
    feeds.push(
      await watchChanges(opened.db, tenant, {
        invalidate: (id) => cache?.invalidate(id),
        invalidateAll: () => cache?.invalidateAll(),
        configurationChanged: () => {
          for (const listener of configured.get(tenant) ?? []) listener();
        },
      }),
    );
    return cache ?? store;
  };
  let store: UpdateStore;
  try {
    store = await cached(opened.store, config.tenant);
  } catch (error) {
    await opened.close();
    throw error;
  }
  return {
    store,
    storeOf: (tenant) => cached(new PostgresUpdateStore(opened.db, tenant, opened.db), tenant),
    poolStats,
    onConfigurationChange(tenant, listener) {
      const set = configured.get(tenant) ?? new Set();
      configured.set(tenant, set);
      set.add(listener);
      return () => set.delete(listener);
    },
    async close() {
      for (const feed of feeds.splice(0)) await feed.close().catch(() => {});
      await opened.close();
    },
  };
}

/** LISTEN for a tenant's outbox commits on the store's database. */
function wakeupsOf(opened: OpenedStore): (tenant: string) => OutboxWakeups {
  return (tenant) => async (onAppend) => (await watchOutbox(opened.db, tenant, onAppend)).close;
}

const copiedFromTemplate = new Set<string>();

/** Names the template after the migrations it holds: a new migration makes a new template. */
export function templateName(): string {
  const list = MIGRATIONS.map((m) => `${m.version}:${m.name}:${checksumOf(m.sql)}`).join(',');
  return `pglite-template-${checksumOf(list)}`;
}

/**
 * Copies the migrated template into `target`, building the template first when the cache has
 * none. The build takes the template's directory lock (so two first starts do not both build)
 * and happens in a scratch directory renamed into place at the end, so a crash mid-build never
 * leaves a half template; whoever finds the lock taken creates its own database instead.
 */
async function copyTemplate(target: string, cacheDir: string, logger: Logger): Promise<void> {
  const template = join(cacheDir, templateName());
  if (!existsSync(template)) {
    await mkdir(cacheDir, { recursive: true });
    let release: () => void;
    try {
      release = lockDataDir(template);
    } catch {
      return;
    }
    try {
      if (!existsSync(template)) {
        const scratch = `${template}.building-${randomBytes(6).toString('hex')}`;
        logger.info({ template }, 'creating the PGlite template (once, about 6 s)');
        try {
          const built = await openStore({ dataDir: scratch, tenant: 'template' });
          await built.close();
          await rename(scratch, template);
        } finally {
          await rm(scratch, { recursive: true, force: true });
          await rm(`${scratch}.lock`, { force: true });
        }
      }
    } finally {
      release();
    }
  }
  // A reflink where the file system has them (btrfs, XFS, APFS), a plain copy elsewhere.
  await cp(template, target, {
    recursive: true,
    errorOnExist: true,
    force: false,
    mode: constants.COPYFILE_FICLONE,
  });
  copiedFromTemplate.add(target);
}

/** The URL with its password masked, for the ready line. */
function masked(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.href;
}
