import {
  type Collection,
  type CollectionRecord,
  defineCollection,
  type Logger,
  type UpdateStore,
} from '@otaflow/core';
import { parsePollingSleep } from '@otaflow/ddi-http';
import { z } from 'zod';

/** hawkBit's `HH:mm:ss` durations of the polling keys (ISO-8601 from a day on). */
const Duration = z.string().refine((value) => {
  try {
    return parsePollingSleep(value) > 0;
  } catch {
    return false;
  }
}, 'a duration HH:mm:ss above zero');

/**
 * The tenant configuration keys otaflow acts on (hawkBit's `TenantConfigurationProperties`
 * names), each with its value's schema. A key hawkBit has and otaflow does not act on is
 * refused rather than stored without effect.
 */
export const TENANT_KEYS = {
  'authentication.targettoken.enabled': z.boolean(),
  'authentication.gatewaytoken.enabled': z.boolean(),
  'authentication.gatewaytoken.key': z.string().max(128),
  pollingTime: Duration,
  pollingOverdueTime: Duration,
  'rollout.approval.enabled': z.boolean(),
  'user.confirmation.flow.enabled': z.boolean(),
} as const;

export type TenantKey = keyof typeof TENANT_KEYS;
export type TenantValues = { [K in TenantKey]: z.infer<(typeof TENANT_KEYS)[K]> };

export function isTenantKey(key: string): key is TenantKey {
  return Object.hasOwn(TENANT_KEYS, key);
}

/** One key's value as the tenant set it. */
export interface TenantConfigRecord extends CollectionRecord {
  key: TenantKey;
  value: unknown;
  createdAt: number;
  createdBy: string;
  lastModifiedAt: number;
  lastModifiedBy: string;
}

export const TENANT_CONFIGURATION: Collection<TenantConfigRecord> =
  defineCollection<TenantConfigRecord>('tenantConfiguration', { key: { type: 'string' } });

/** A key's value as `/system/configs` shows it: the tenant's own, else the global default. */
export type ConfigValue =
  | { value: unknown; global: true }
  | ({ value: unknown; global: false } & Pick<
      TenantConfigRecord,
      'createdAt' | 'createdBy' | 'lastModifiedAt' | 'lastModifiedBy'
    >);

/** What the settings are kept in: a tenant's store, or anything with its collections. */
export interface SettingsStore {
  collection: UpdateStore['collection'];
  transaction<T>(work: (tx: SettingsStore) => Promise<T>): Promise<T>;
}

/** How often a backend rereads the tenant's keys, so that another backend's change arrives. */
const REFRESH_MS = 1000;

/**
 * One tenant's configuration: the keys it set (stored like every other record, so every backend
 * on the database shares them) over the process's flags as global defaults. Reads are
 * synchronous, from memory, since DDI reads the auth keys on every request; a change made here
 * is in effect before `put` resolves, one made by another backend within a second.
 */
export class TenantSettings {
  readonly #store: SettingsStore;
  readonly #now: () => number;
  readonly #defaults: TenantValues;
  readonly #logger: Logger;
  #records = new Map<TenantKey, TenantConfigRecord>();
  #values: TenantValues;
  #timer: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<(values: TenantValues) => void>();

  constructor(store: SettingsStore, defaults: TenantValues, logger: Logger, now = Date.now) {
    this.#store = store;
    this.#now = now;
    this.#defaults = defaults;
    this.#logger = logger;
    this.#values = { ...defaults };
  }

  /**
   * Reads the stored keys, then keeps rereading them every `refreshMs` until `close`: the fallback
   * for a change whose notification was lost (or a store that sends none).
   */
  async start(refreshMs = REFRESH_MS): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => {
      this.refresh().catch((error) =>
        this.#logger.warn({ err: error }, 'rereading the tenant configuration failed'),
      );
    }, refreshMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** Called with the new values whenever they change (DDI's auth and polling time follow). */
  onChange(listener: (values: TenantValues) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get values(): Readonly<TenantValues> {
    return this.#values;
  }

  get<K extends TenantKey>(key: K): TenantValues[K] {
    return this.#values[key];
  }

  describe(key: TenantKey): ConfigValue {
    const record = this.#records.get(key);
    if (!record) return { value: this.#defaults[key], global: true };
    const { createdAt, createdBy, lastModifiedAt, lastModifiedBy } = record;
    return {
      value: record.value,
      global: false,
      createdAt,
      createdBy,
      lastModifiedAt,
      lastModifiedBy,
    };
  }

  /**
   * Sets keys in one unit: all or none. Values are checked by the caller (`checkValue`); the
   * gateway token may not be enabled without a key.
   */
  async put(values: Partial<TenantValues>, user: string): Promise<void> {
    const now = this.#now();
    await this.#store.transaction(async (tx) => {
      const collection = tx.collection(TENANT_CONFIGURATION);
      for (const [key, value] of Object.entries(values) as [TenantKey, unknown][]) {
        const existing = await collection.findBy('key', key);
        const record: TenantConfigRecord = existing
          ? {
              ...existing,
              value,
              lastModifiedAt: now,
              lastModifiedBy: user,
              revision: existing.revision + 1,
            }
          : {
              id: await collection.nextId(),
              revision: 0,
              key,
              value,
              createdAt: now,
              createdBy: user,
              lastModifiedAt: now,
              lastModifiedBy: user,
            };
        await collection.put(record, existing ? existing.revision : -1);
      }
    });
    await this.refresh();
  }

  /** Back to the global default; false when the tenant had not set the key. */
  async delete(key: TenantKey): Promise<boolean> {
    const collection = this.#store.collection(TENANT_CONFIGURATION);
    const existing = await collection.findBy('key', key);
    const deleted = existing ? await collection.delete(existing.id) : false;
    await this.refresh();
    return deleted;
  }

  async refresh(): Promise<void> {
    const page = await this.#store
      .collection(TENANT_CONFIGURATION)
      .list({ limit: Object.keys(TENANT_KEYS).length * 2 });
    const records = new Map<TenantKey, TenantConfigRecord>();
    for (const record of page.items) if (isTenantKey(record.key)) records.set(record.key, record);
    const values = { ...this.#defaults } as Record<TenantKey, unknown>;
    for (const [key, record] of records) values[key] = record.value;
    const changed = (Object.keys(values) as TenantKey[]).some(
      (key) => values[key] !== this.#values[key],
    );
    this.#records = records;
    this.#values = values as TenantValues;
    if (changed) for (const listener of this.#listeners) listener(this.#values);
  }
}
