import type { FilterValue } from './filterMatch.js';
import type { ListField, ListFields, ListFieldType } from './listFields.js';
import { OtaflowError } from './OtaflowError.js';
import type { Page, PageQuery } from './UpdateStore.js';

/**
 * What every record of a collection carries: a numeric id from the collection's own sequence, a
 * revision for optimistic writes (as the catalogue's), and an optional scope: an exact key that
 * lists and lookups can be narrowed to (`target:<controllerId>` for a target's metadata,
 * `rollout:<id>` for a rollout's groups).
 */
export interface CollectionRecord {
  id: number;
  revision: number;
  scope?: string;
}

/** One list field of a collection: its type and where it sits in the record (default: its name). */
export interface CollectionField {
  type: ListFieldType;
  /** JSON keys from the record's root; each `[A-Za-z0-9_]+`, so a database may inline them. */
  path?: readonly string[];
}

/**
 * A kind of record the store keeps for the Management API's smaller resources (tags, types,
 * metadata, target filters, rollouts and their groups, tenant configuration): defined once in
 * code, stored by every `UpdateStore` without a method of its own. `T` only types the records.
 */
export interface Collection<T extends CollectionRecord> {
  /** `[a-z][A-Za-z0-9]*`, unique per store: the rows' kind and the sequence's name. */
  readonly name: string;
  readonly fields: Readonly<Record<string, CollectionField>>;
  /** Never set: carries `T`. */
  readonly __record?: T;
}

/** A collection's records in one store (or one unit of work, inside `transaction`). */
export interface CollectionStore<T extends CollectionRecord> {
  get(id: number): Promise<T | undefined>;
  /** Filtered and sorted by the collection's fields; ties by id; `scope` matches exactly. */
  list(query?: PageQuery, scope?: string): Promise<Page<T>>;
  /**
   * The oldest record whose field `field` equals `value` exactly (case-sensitive), within
   * `scope` when given: a unique name, a metadata key.
   */
  findBy(field: string, value: string | number | boolean, scope?: string): Promise<T | undefined>;
  /** `expectedRevision` as the catalogue's: -1 for a record that must not exist yet. */
  put(record: T, expectedRevision?: number): Promise<void>;
  delete(id: number): Promise<boolean>;
  /** Deletes every record of `scope`; answers how many. */
  deleteScope(scope: string): Promise<number>;
  /** The next id of this collection's sequence (not transactional, as `nextId`). */
  nextId(): Promise<number>;
}

const NAME = /^[a-z][A-Za-z0-9]*$/;
const KEY = /^[A-Za-z0-9_]+$/;

/** Checks the definition once, at module load: a bad name or path is a programming error. */
export function defineCollection<T extends CollectionRecord>(
  name: string,
  fields: Readonly<Record<string, CollectionField>>,
): Collection<T> {
  if (!NAME.test(name)) throw new OtaflowError('INVALID_INPUT', `bad collection name ${name}`);
  const all: Record<string, CollectionField> = {
    id: { type: 'number' },
    ...fields,
  };
  for (const [field, def] of Object.entries(all)) {
    const path = def.path ?? [field];
    if (path.length === 0 || !path.every((key) => KEY.test(key)))
      throw new OtaflowError('INVALID_INPUT', `bad path of ${name}.${field}`);
  }
  return { name, fields: all };
}

/** The JSON path of a field of `collection`. */
export function collectionFieldPath(
  collection: Collection<CollectionRecord>,
  field: string,
): readonly string[] | undefined {
  const def = Object.hasOwn(collection.fields, field) ? collection.fields[field] : undefined;
  return def && (def.path ?? [field]);
}

/** Reads the value at `path` of a record; anything not a JSON scalar reads as empty. */
export function readPath(record: unknown, path: readonly string[]): unknown {
  let at: unknown = record;
  for (const key of path) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

function scalar(type: ListFieldType, value: unknown): FilterValue {
  if (type === 'number' || type === 'timestamp')
    return typeof value === 'number' ? value : undefined;
  if (type === 'boolean') return typeof value === 'boolean' ? value : undefined;
  return typeof value === 'string' ? value : undefined;
}

const fieldsCache = new WeakMap<object, ListFields<unknown>>();

/** The collection's fields as core's list vocabulary, for filters and sorts in memory. */
export function collectionListFields<T extends CollectionRecord>(
  collection: Collection<T>,
): ListFields<T> {
  const cached = fieldsCache.get(collection);
  if (cached) return cached as ListFields<T>;
  const fields: Record<string, ListField<T>> = {};
  for (const [name, def] of Object.entries(collection.fields)) {
    const path = def.path ?? [name];
    fields[name] =
      def.type === 'attributes'
        ? {
            type: def.type,
            read: (record, key) => {
              const map = readPath(record, path);
              return key === undefined ? undefined : scalar('string', readPath(map, [key]));
            },
          }
        : { type: def.type, read: (record) => scalar(def.type, readPath(record, path)) };
  }
  fieldsCache.set(collection, fields as ListFields<unknown>);
  return fields;
}

/** `findBy`'s comparison: exact, on the field's JSON value. */
export function fieldEquals(
  collection: Collection<CollectionRecord>,
  record: CollectionRecord,
  field: string,
  value: string | number | boolean,
): boolean {
  const path = collectionFieldPath(collection, field);
  if (!path) throw new OtaflowError('INVALID_INPUT', `unknown field ${collection.name}.${field}`);
  return readPath(record, path) === value;
}
