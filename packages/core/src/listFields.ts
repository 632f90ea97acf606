import { z } from 'zod';
import { isActiveStateValue } from './actionStates.js';
import type { DistributionSet, SoftwareModule } from './catalogue.js';
import type { FilterNode, ListQuery } from './filter.js';
import type { FieldValues } from './filterMatch.js';
import { OtaflowError } from './OtaflowError.js';
import { type ActionRecord, INSTALLED_REPORT_REF, type TargetRecord } from './records.js';
import { targetStatusOfState } from './targetMachine.js';

/**
 * How a list field compares: `number` and `timestamp` (epoch milliseconds) numerically, `boolean`
 * by `true`/`false`, `string` and `enum` as case-insensitive text with `*` wildcards, and
 * `attributes` an open map whose entries are text fields named `<field>.<key>`.
 */
export const ListFieldType = z.enum([
  'string',
  'number',
  'boolean',
  'enum',
  'timestamp',
  'attributes',
]);
export type ListFieldType = z.infer<typeof ListFieldType>;

export interface ListField<T, R = unknown> {
  type: ListFieldType;
  /** A record has several values (a target's tags): a filter may test it, a sort may not. */
  many?: boolean;
  /** Read from `R`, what a store loads beside the records when a query names such a field. */
  related?: boolean;
  /** Reads the field from a record (for `attributes`, the entry `key`). */
  read: (record: T, key: string | undefined, related: R | undefined) => FieldValues;
}

/** The fields a list of `T` may filter and sort by: a store's vocabulary, not hawkBit's names. */
export type ListFields<T, R = unknown> = Readonly<Record<string, ListField<T, R>>>;

/**
 * What a target's list fields read beyond the target: its tag names, its metadata, the names and
 * versions of its sets. A memory store builds it from its collections; SQL joins instead.
 */
export interface TargetRelations {
  tagNames(controllerId: string): readonly string[];
  metadataValue(controllerId: string, key: string): string | undefined;
  distributionSet(id: number): Pick<DistributionSet, 'name' | 'version'> | undefined;
}

type Context = Record<string, unknown>;
const ctx = (record: { state: { context: unknown } }) => record.state.context as Context;
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** An own entry of an attribute map: `attribute.__proto__` must not find Object's prototype. */
function entryOf(map: Record<string, string> | undefined, key: string | undefined) {
  if (!map || key === undefined || !Object.hasOwn(map, key)) return undefined;
  return str(map[key]);
}

/**
 * hawkBit's `ipAddress`: the host of a target's address URL, without IPv6 brackets; none for
 * AMQP addresses or a masked host. A derived field, so a database stores it beside the record.
 */
export function ipAddressOf(address: string | undefined): string | undefined {
  if (!address) return undefined;
  try {
    const url = new URL(address);
    if (url.protocol === 'amqp:' || url.hostname === '***' || !url.hostname) return undefined;
    return url.hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

function setOf(
  record: TargetRecord,
  which: 'assignedDistributionSetId' | 'installedDistributionSetId',
  related: TargetRelations | undefined,
) {
  const id = num(ctx(record)[which]);
  return id === undefined ? undefined : related?.distributionSet(id);
}

export const TARGET_LIST_FIELDS: ListFields<TargetRecord, TargetRelations> = {
  controllerId: { type: 'string', read: (t) => t.controllerId },
  name: { type: 'string', read: (t) => t.name },
  description: { type: 'string', read: (t) => t.description },
  updateStatus: { type: 'enum', read: (t) => targetStatusOfState(t.state.value) },
  createdAt: { type: 'timestamp', read: (t) => num(ctx(t).createdAt) },
  lastModifiedAt: { type: 'timestamp', read: (t) => num(ctx(t).lastModifiedAt) },
  lastContactAt: { type: 'timestamp', read: (t) => num(ctx(t).lastContactAt) },
  address: { type: 'string', read: (t) => t.address },
  ipAddress: { type: 'string', read: (t) => ipAddressOf(t.address) },
  channel: { type: 'enum', read: (t) => t.channel },
  targetType: { type: 'number', read: (t) => t.targetType },
  assignedDistributionSetId: {
    type: 'number',
    read: (t) => num(ctx(t).assignedDistributionSetId),
  },
  installedDistributionSetId: {
    type: 'number',
    read: (t) => num(ctx(t).installedDistributionSetId),
  },
  attribute: { type: 'attributes', read: (t, key) => entryOf(t.attributes, key) },
  group: { type: 'string', read: (t) => t.group },
  tag: {
    type: 'string',
    many: true,
    related: true,
    read: (t, _key, related) => related?.tagNames(t.controllerId) ?? [],
  },
  metadata: {
    type: 'attributes',
    related: true,
    read: (t, key, related) =>
      key === undefined ? undefined : related?.metadataValue(t.controllerId, key),
  },
  assignedDistributionSetName: {
    type: 'string',
    related: true,
    read: (t, _key, related) => setOf(t, 'assignedDistributionSetId', related)?.name,
  },
  assignedDistributionSetVersion: {
    type: 'string',
    related: true,
    read: (t, _key, related) => setOf(t, 'assignedDistributionSetId', related)?.version,
  },
  installedDistributionSetName: {
    type: 'string',
    related: true,
    read: (t, _key, related) => setOf(t, 'installedDistributionSetId', related)?.name,
  },
  installedDistributionSetVersion: {
    type: 'string',
    related: true,
    read: (t, _key, related) => setOf(t, 'installedDistributionSetId', related)?.version,
  },
};

export const ACTION_LIST_FIELDS: ListFields<ActionRecord> = {
  id: { type: 'number', read: (a) => a.id },
  controllerId: { type: 'string', read: (a) => a.controllerId },
  active: { type: 'boolean', read: (a) => isActiveStateValue(a.state.value) },
  status: { type: 'enum', read: (a) => str(ctx(a).status) },
  lastStatusCode: { type: 'number', read: (a) => num(ctx(a).lastStatusCode) },
  createdAt: { type: 'timestamp', read: (a) => num(ctx(a).createdAt) },
  lastModifiedAt: { type: 'timestamp', read: (a) => num(ctx(a).lastModifiedAt) },
  weight: { type: 'number', read: (a) => num(ctx(a).weight) },
  distributionSetId: { type: 'number', read: (a) => num(ctx(a).distributionSetId) },
  distributionSetName: { type: 'string', read: (a) => str(ctx(a).distributionSetName) },
  distributionSetVersion: { type: 'string', read: (a) => str(ctx(a).distributionSetVersion) },
  rolloutId: { type: 'number', read: (a) => num(ctx(a).rolloutId) },
  /** The device reported, after its restart, that it runs the action's set (`reportInstalled`). */
  installedReported: {
    type: 'boolean',
    read: (a) => a.refs?.[INSTALLED_REPORT_REF] !== undefined,
  },
  rolloutGroupId: { type: 'number', read: (a) => num(ctx(a).rolloutGroupId) },
};

export const SOFTWARE_MODULE_LIST_FIELDS: ListFields<SoftwareModule> = {
  id: { type: 'number', read: (m) => m.id },
  type: { type: 'string', read: (m) => m.type },
  name: { type: 'string', read: (m) => m.name },
  version: { type: 'string', read: (m) => m.version },
  vendor: { type: 'string', read: (m) => m.vendor },
  description: { type: 'string', read: (m) => m.description },
  createdAt: { type: 'timestamp', read: (m) => m.createdAt },
  lastModifiedAt: { type: 'timestamp', read: (m) => m.lastModifiedAt },
  locked: { type: 'boolean', read: (m) => m.locked === true },
  deleted: { type: 'boolean', read: (m) => m.deleted === true },
};

export const DISTRIBUTION_SET_LIST_FIELDS: ListFields<DistributionSet> = {
  id: { type: 'number', read: (s) => s.id },
  type: { type: 'string', read: (s) => s.type },
  name: { type: 'string', read: (s) => s.name },
  version: { type: 'string', read: (s) => s.version },
  description: { type: 'string', read: (s) => s.description },
  requiredMigrationStep: { type: 'boolean', read: (s) => s.requiredMigrationStep },
  locked: { type: 'boolean', read: (s) => s.locked === true },
  valid: { type: 'boolean', read: (s) => s.valid !== false },
  deleted: { type: 'boolean', read: (s) => s.deleted === true },
  createdAt: { type: 'timestamp', read: (s) => s.createdAt },
  lastModifiedAt: { type: 'timestamp', read: (s) => s.lastModifiedAt },
};

/**
 * A list field as a filter names it: `name`, or `attribute.<key>` for an entry of an attribute
 * map (the key keeps its case and may hold dots). Undefined for a name the vocabulary lacks.
 */
export function resolveListField<T, R = unknown>(
  fields: ListFields<T, R>,
  name: string,
): { field: ListField<T, R>; key?: string } | undefined {
  const own = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (own) return own.type === 'attributes' ? undefined : { field: own };
  const dot = name.indexOf('.');
  if (dot < 0) return undefined;
  const head = name.slice(0, dot);
  const map = Object.hasOwn(fields, head) ? fields[head] : undefined;
  if (map?.type !== 'attributes') return undefined;
  return { field: map, key: name.slice(dot + 1) };
}

/**
 * Reads fields by name through a vocabulary, for core's `compileFilter` and `applyListQuery`.
 * Throws `INVALID_INPUT` for a field the vocabulary lacks, as a database store does.
 */
export function listFieldAccessor<T, R = unknown>(
  fields: ListFields<T, R>,
  related?: R,
): (record: T, name: string) => FieldValues {
  const cache = new Map<string, { field: ListField<T, R>; key?: string }>();
  return (record, name) => {
    let found = cache.get(name);
    if (!found) {
      found = resolveListField(fields, name);
      if (!found) throw unknownField(name);
      cache.set(name, found);
    }
    return found.field.read(record, found.key, related);
  };
}

function unknownField(name: string): OtaflowError {
  return new OtaflowError('INVALID_INPUT', `unknown list field ${name}`);
}

/**
 * Checks every field a query names (filter and sort) before any record is read, so that an
 * unknown field fails the same on an empty store as on a full one, in memory as in SQL.
 */
export function checkListQuery<T, R = unknown>(fields: ListFields<T, R>, query: ListQuery): void {
  for (const { field } of query.sort) {
    const found = resolveListField(fields, field);
    if (!found) throw unknownField(field);
    if (found.field.many)
      throw new OtaflowError('INVALID_INPUT', `a list cannot be sorted by ${field}`);
  }
  if (!query.filter) return;
  const stack: FilterNode[] = [query.filter];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.kind === 'cmp') {
      if (!resolveListField(fields, node.field)) throw unknownField(node.field);
    } else stack.push(...node.nodes);
  }
}

/** Whether a query names a field read from what a store loads beside the records. */
export function namesRelatedField<T, R>(fields: ListFields<T, R>, query: ListQuery): boolean {
  const named = (name: string) => resolveListField(fields, name)?.field.related === true;
  if (query.sort.some(({ field }) => named(field))) return true;
  const stack: FilterNode[] = query.filter ? [query.filter] : [];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.kind === 'cmp') {
      if (named(node.field)) return true;
    } else stack.push(...node.nodes);
  }
  return false;
}

/** What callers pass for a list: every part optional; no limit means every match. */
export type ListRequest = Partial<ListQuery>;

/** A request with its defaults: no filter, insertion order, from the first, no limit. */
export function listQueryOf(request: ListRequest = {}): ListQuery {
  return {
    ...(request.filter ? { filter: request.filter } : {}),
    sort: request.sort ?? [],
    offset: Math.max(0, request.offset ?? 0),
    limit: request.limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, request.limit),
  };
}
