import {
  type Collection,
  type CollectionRecord,
  type CollectionStore,
  collectionListFields,
  fieldEquals,
} from './collections.js';
import { applyListQuery } from './filterSort.js';
import { checkListQuery, listFieldAccessor, listQueryOf } from './listFields.js';
import { OtaflowError } from './OtaflowError.js';
import type { Page, PageQuery, UpdateStore } from './UpdateStore.js';

type AnyCollection = Collection<CollectionRecord>;

/** One write of a unit to a collection, replayed at commit. `record: null` deletes. */
export interface StagedCollectionWrite {
  collection: AnyCollection;
  id: number;
  record: CollectionRecord | null;
  expected: number | undefined;
}

function checkRevision(
  collection: AnyCollection,
  id: number,
  stored: number | undefined,
  expected: number | undefined,
) {
  if (expected === undefined) return;
  const actual = stored ?? -1;
  if (actual !== expected)
    throw new OtaflowError(
      'CONFLICT',
      `${collection.name} ${id} is at revision ${actual}, not ${expected}`,
    );
}

function listOf<T extends CollectionRecord>(
  collection: Collection<T>,
  records: readonly T[],
  request: PageQuery | undefined,
  scope: string | undefined,
): Page<T> {
  const fields = collectionListFields(collection);
  const query = listQueryOf(request);
  checkListQuery(fields, query);
  const mine = records
    .filter((r) => scope === undefined || r.scope === scope)
    .sort((a, b) => a.id - b.id);
  return applyListQuery(mine, query, listFieldAccessor(fields));
}

function oldestMatch<T extends CollectionRecord>(
  collection: Collection<T>,
  records: Iterable<T>,
  field: string,
  value: string | number | boolean,
  scope: string | undefined,
): T | undefined {
  let oldest: T | undefined;
  for (const record of records)
    if (
      (scope === undefined || record.scope === scope) &&
      fieldEquals(collection as AnyCollection, record, field, value) &&
      (!oldest || record.id < oldest.id)
    )
      oldest = record;
  return oldest;
}

/** Every collection's records of a memory store, keyed by collection name, then id. */
export class MemoryCollections {
  readonly #rows = new Map<string, Map<number, CollectionRecord>>();

  rows(collection: AnyCollection): Map<number, CollectionRecord> {
    let rows = this.#rows.get(collection.name);
    if (!rows) {
      rows = new Map();
      this.#rows.set(collection.name, rows);
    }
    return rows;
  }

  /** The store's side: writes apply at once. */
  store<T extends CollectionRecord>(
    collection: Collection<T>,
    root: UpdateStore,
  ): CollectionStore<T> {
    const rows = this.rows(collection as AnyCollection) as Map<number, T>;
    return {
      get: async (id) => rows.get(id),
      list: async (query, scope) => listOf(collection, [...rows.values()], query, scope),
      findBy: async (field, value, scope) =>
        oldestMatch(collection, rows.values(), field, value, scope),
      put: async (record, expected) => {
        checkRevision(
          collection as AnyCollection,
          record.id,
          rows.get(record.id)?.revision,
          expected,
        );
        rows.set(record.id, record);
      },
      delete: async (id) => rows.delete(id),
      deleteScope: async (scope) => {
        let n = 0;
        for (const [id, record] of rows) if (record.scope === scope && rows.delete(id)) n++;
        return n;
      },
      nextId: () => root.nextId(`collection:${collection.name}`),
    };
  }

  /** Checks a unit's first write per record against the store as it is now (see `#commit`). */
  check(write: StagedCollectionWrite): void {
    checkRevision(
      write.collection,
      write.id,
      this.rows(write.collection).get(write.id)?.revision,
      write.expected,
    );
  }

  apply(write: StagedCollectionWrite): void {
    const rows = this.rows(write.collection);
    if (write.record === null) rows.delete(write.id);
    else rows.set(write.id, write.record);
  }
}

/**
 * A unit's view of one collection: its own staged records over the store's. Writes are checked
 * against that view and handed to `stage`, which keeps them for the commit.
 */
export function stagedCollection<T extends CollectionRecord>(
  collection: Collection<T>,
  base: CollectionStore<T>,
  staged: Map<number, T | null>,
  stage: (write: StagedCollectionWrite) => void,
): CollectionStore<T> {
  const merged = async (): Promise<T[]> => {
    const all = (await base.list()).items;
    const out = all.flatMap((r) => {
      const over = staged.get(r.id);
      return over === undefined ? [r] : over === null ? [] : [over];
    });
    const seen = new Set(all.map((r) => r.id));
    for (const [id, r] of staged) if (r !== null && !seen.has(id)) out.push(r);
    return out;
  };
  const get = async (id: number) => {
    const over = staged.get(id);
    return over === undefined ? base.get(id) : (over ?? undefined);
  };
  const remove = async (id: number) => {
    const existed = (await get(id)) !== undefined;
    staged.set(id, null);
    stage({ collection: collection as AnyCollection, id, record: null, expected: undefined });
    return existed;
  };
  return {
    get,
    list: async (query, scope) =>
      staged.size === 0
        ? base.list(query, scope)
        : listOf(collection, await merged(), query, scope),
    findBy: async (field, value, scope) =>
      staged.size === 0
        ? base.findBy(field, value, scope)
        : oldestMatch(collection, await merged(), field, value, scope),
    put: async (record, expected) => {
      checkRevision(
        collection as AnyCollection,
        record.id,
        (await get(record.id))?.revision,
        expected,
      );
      staged.set(record.id, record);
      stage({ collection: collection as AnyCollection, id: record.id, record, expected });
    },
    delete: remove,
    deleteScope: async (scope) => {
      const mine = (await merged()).filter((r) => r.scope === scope);
      for (const r of mine) await remove(r.id);
      return mine.length;
    },
    nextId: () => base.nextId(),
  };
}
