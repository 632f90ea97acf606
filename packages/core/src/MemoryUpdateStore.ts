import type { DistributionSet, SoftwareModule } from './catalogue.js';
import type { Collection, CollectionRecord, CollectionStore } from './collections.js';
import { compileFilter } from './filterMatch.js';
import { applyListQuery } from './filterSort.js';
import {
  ACTION_LIST_FIELDS,
  checkListQuery,
  DISTRIBUTION_SET_LIST_FIELDS,
  type ListFields,
  listFieldAccessor,
  listQueryOf,
  SOFTWARE_MODULE_LIST_FIELDS,
  TARGET_LIST_FIELDS,
} from './listFields.js';
import {
  MemoryCollections,
  type StagedCollectionWrite,
  stagedCollection,
} from './MemoryCollections.js';
import { OtaflowError } from './OtaflowError.js';
import type { OutboxAppend, OutboxChannelStats, OutboxClaim, OutboxEntry } from './outbox.js';
import type { ActionRecord, TargetRecord } from './records.js';
import { loadTargetRelations } from './targetRelations.js';
import type {
  Page,
  PageQuery,
  Sequence,
  TargetContact,
  TargetSelection,
  UpdateStore,
} from './UpdateStore.js';
import { actionStatusOfRecord } from './views.js';
import type { ActionStatus } from './vocabulary.js';

/** The record with `lastContactAt` moved forward to `at` (the same record when it is not later). */
export function withContact(record: TargetRecord, at: number): TargetRecord {
  const context = record.state.context as { lastContactAt?: unknown };
  if (typeof context.lastContactAt === 'number' && context.lastContactAt >= at) return record;
  return { ...record, state: { ...record.state, context: { ...context, lastContactAt: at } } };
}

/** Filter, sort and page in memory, after checking every field the query names. */
function page<T, R = unknown>(
  all: Iterable<T>,
  fields: ListFields<T, R>,
  request?: PageQuery,
  related?: R,
): Page<T> {
  const query = listQueryOf(request);
  checkListQuery(fields, query);
  return applyListQuery([...all], query, listFieldAccessor(fields, related));
}

/** The targets of `all` a selection names, read through `store` for the related fields. */
async function selectTargets(
  store: UpdateStore,
  all: Iterable<TargetRecord>,
  selection: TargetSelection,
): Promise<TargetRecord[]> {
  if ('controllerIds' in selection) {
    const wanted = new Set(selection.controllerIds);
    return [...all].filter((t) => wanted.has(t.controllerId));
  }
  const query = listQueryOf({ filter: selection.filter });
  checkListQuery(TARGET_LIST_FIELDS, query);
  const related = await loadTargetRelations(store, query);
  return [...all].filter(
    compileFilter(selection.filter, listFieldAccessor(TARGET_LIST_FIELDS, related)),
  );
}

/** The distinct groups of `targets`, by code point (as SQL's `COLLATE "C"`). */
function groupsOf(targets: Iterable<TargetRecord>): string[] {
  const groups = new Set<string>();
  for (const t of targets) if (t.group !== undefined) groups.add(t.group);
  return [...groups].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The record in `group` (none: in no group), at its next version. */
function withGroup(record: TargetRecord, group: string | undefined): TargetRecord {
  const { group: _old, ...rest } = record;
  const next: TargetRecord = { ...rest, version: record.version + 1 };
  if (group !== undefined) next.group = group;
  return next;
}

/** The oldest module with this type, name and version. */
function oldestModule(all: Iterable<SoftwareModule>, type: string, name: string, version: string) {
  let oldest: SoftwareModule | undefined;
  for (const m of all)
    if (
      m.type === type &&
      m.name === name &&
      m.version === version &&
      (!oldest || m.id < oldest.id)
    )
      oldest = m;
  return oldest;
}

function checkVersion(
  kind: string,
  key: string | number,
  stored: number | undefined,
  expected?: number,
) {
  if (expected === undefined) return;
  const actual = stored ?? -1;
  if (actual !== expected) {
    throw new OtaflowError('CONFLICT', `${kind} ${key} is at version ${actual}, not ${expected}`);
  }
}

/** One write a transaction staged, replayed on the store when the transaction commits. */
type StagedWrite =
  | { kind: 'target'; record: TargetRecord; expected: number | undefined }
  | { kind: 'deleteTarget'; controllerId: string }
  | { kind: 'action'; record: ActionRecord; expected: number | undefined }
  | { kind: 'deleteAction'; id: number }
  | { kind: 'module'; module: SoftwareModule; expected: number | undefined }
  | { kind: 'deleteModule'; id: number }
  | { kind: 'set'; set: DistributionSet; expected: number | undefined }
  | { kind: 'deleteSet'; id: number }
  | { kind: 'collection'; write: StagedCollectionWrite }
  | { kind: 'outbox'; entries: readonly OutboxAppend[] };

/** The store's key a staged write touches: its first write decides what commit checks. */
function keyOf(write: StagedWrite): string {
  switch (write.kind) {
    case 'target':
      return `t\u0000${write.record.controllerId}`;
    case 'deleteTarget':
      return `t\u0000${write.controllerId}`;
    case 'action':
      return `a\u0000${write.record.id}`;
    case 'deleteAction':
      return `a\u0000${write.id}`;
    case 'module':
      return `m\u0000${write.module.id}`;
    case 'deleteModule':
      return `m\u0000${write.id}`;
    case 'set':
      return `s\u0000${write.set.id}`;
    case 'deleteSet':
      return `s\u0000${write.id}`;
    case 'collection':
      return `c\u0000${write.write.collection.name}\u0000${write.write.id}`;
    case 'outbox':
      return 'o';
  }
}

/** The store's records with a transaction's staged ones laid over them (null: deleted). */
function overlay<K, V>(base: readonly V[], staged: Map<K, V | null>, keyOfItem: (v: V) => K): V[] {
  const out: V[] = [];
  const seen = new Set<K>();
  for (const item of base) {
    const key = keyOfItem(item);
    seen.add(key);
    const over = staged.get(key);
    if (over === undefined) out.push(item);
    else if (over !== null) out.push(over);
  }
  for (const [key, value] of staged) if (value !== null && !seen.has(key)) out.push(value);
  return out;
}

/**
 * A unit of work over a memory store: writes are checked against what the unit sees (its own
 * writes over the store), kept aside, and replayed on the store at once when the unit succeeds.
 * Nothing touches the store before that, so a throw anywhere leaves it as it was.
 */
class MemoryTransaction implements UpdateStore {
  readonly writes: StagedWrite[] = [];
  readonly #targets = new Map<string, TargetRecord | null>();
  readonly #actions = new Map<number, ActionRecord | null>();
  readonly #modules = new Map<number, SoftwareModule | null>();
  readonly #sets = new Map<number, DistributionSet | null>();
  readonly #collections = new Map<string, Map<number, CollectionRecord | null>>();

  constructor(readonly base: UpdateStore) {}

  collection<T extends CollectionRecord>(collection: Collection<T>): CollectionStore<T> {
    let staged = this.#collections.get(collection.name);
    if (!staged) {
      staged = new Map();
      this.#collections.set(collection.name, staged);
    }
    return stagedCollection(
      collection,
      this.base.collection(collection),
      staged as Map<number, T | null>,
      (write) => this.writes.push({ kind: 'collection', write }),
    );
  }

  async getTarget(controllerId: string) {
    const staged = this.#targets.get(controllerId);
    return staged === undefined ? this.base.getTarget(controllerId) : (staged ?? undefined);
  }
  async listTargets(query?: PageQuery): Promise<Page<TargetRecord>> {
    const all = (await this.base.listTargets()).items;
    return page(
      overlay(all, this.#targets, (t) => t.controllerId),
      TARGET_LIST_FIELDS,
      query,
      await loadTargetRelations(this, query),
    );
  }
  async putTarget(record: TargetRecord, expectedVersion?: number) {
    const current = await this.getTarget(record.controllerId);
    checkVersion('target', record.controllerId, current?.version, expectedVersion);
    this.#targets.set(record.controllerId, record);
    this.writes.push({ kind: 'target', record, expected: expectedVersion });
  }
  touchTargets(contacts: readonly TargetContact[]) {
    return this.base.touchTargets(contacts);
  }
  async setTargetGroup(group: string | undefined, selection: TargetSelection) {
    const all = (await this.listTargets()).items;
    let written = 0;
    for (const record of await selectTargets(this, all, selection)) {
      if (record.group === group) continue;
      await this.putTarget(withGroup(record, group), record.version);
      written++;
    }
    return written;
  }
  async listTargetGroups(): Promise<string[]> {
    return groupsOf((await this.listTargets()).items);
  }
  async deleteTarget(controllerId: string) {
    const existed = (await this.getTarget(controllerId)) !== undefined;
    for (const action of await this.listActionsOfTarget(controllerId))
      this.#actions.set(action.id, null);
    this.#targets.set(controllerId, null);
    this.writes.push({ kind: 'deleteTarget', controllerId });
    return existed;
  }

  async getAction(id: number) {
    const staged = this.#actions.get(id);
    return staged === undefined ? this.base.getAction(id) : (staged ?? undefined);
  }
  async listActionsOfTarget(controllerId: string) {
    const base = await this.base.listActionsOfTarget(controllerId);
    const staged = new Map<number, ActionRecord | null>();
    for (const [id, record] of this.#actions) {
      if (record === null || record.controllerId === controllerId) staged.set(id, record);
      else staged.set(id, null);
    }
    return overlay(base, staged, (a) => a.id);
  }
  async listActions(query?: PageQuery, controllerId?: string) {
    const all = (await this.base.listActions(undefined, controllerId)).items;
    const staged = new Map<number, ActionRecord | null>();
    for (const [id, record] of this.#actions)
      staged.set(
        id,
        record && controllerId !== undefined && record.controllerId !== controllerId
          ? null
          : record,
      );
    const mine = overlay(all, staged, (a) => a.id).sort((a, b) => a.id - b.id);
    return page(mine, ACTION_LIST_FIELDS, query);
  }
  async putAction(record: ActionRecord, expectedVersion?: number) {
    const current = await this.getAction(record.id);
    checkVersion('action', record.id, current?.version, expectedVersion);
    this.#actions.set(record.id, record);
    this.writes.push({ kind: 'action', record, expected: expectedVersion });
  }
  async deleteAction(id: number) {
    const existed = (await this.getAction(id)) !== undefined;
    this.#actions.set(id, null);
    this.writes.push({ kind: 'deleteAction', id });
    return existed;
  }
  async findActionByRef(key: string, value: string) {
    for (const record of this.#actions.values()) if (record?.refs?.[key] === value) return record;
    const found = await this.base.findActionByRef(key, value);
    if (!found || !this.#actions.has(found.id)) return found;
    return undefined;
  }

  async getSoftwareModule(id: number) {
    const staged = this.#modules.get(id);
    return staged === undefined ? this.base.getSoftwareModule(id) : (staged ?? undefined);
  }
  async listSoftwareModules(query?: PageQuery) {
    const all = (await this.base.listSoftwareModules()).items;
    return page(
      overlay(all, this.#modules, (m) => m.id),
      SOFTWARE_MODULE_LIST_FIELDS,
      query,
    );
  }
  async findSoftwareModule(type: string, name: string, version: string) {
    if (this.#modules.size === 0) return this.base.findSoftwareModule(type, name, version);
    return oldestModule((await this.listSoftwareModules()).items, type, name, version);
  }
  async putSoftwareModule(module: SoftwareModule, expectedRevision?: number) {
    const current = await this.getSoftwareModule(module.id);
    checkVersion('software module', module.id, current?.revision, expectedRevision);
    this.#modules.set(module.id, module);
    this.writes.push({ kind: 'module', module, expected: expectedRevision });
  }
  async deleteSoftwareModule(id: number) {
    const existed = (await this.getSoftwareModule(id)) !== undefined;
    this.#modules.set(id, null);
    this.writes.push({ kind: 'deleteModule', id });
    return existed;
  }

  async getDistributionSet(id: number) {
    const staged = this.#sets.get(id);
    return staged === undefined ? this.base.getDistributionSet(id) : (staged ?? undefined);
  }
  async listDistributionSets(query?: PageQuery) {
    const all = (await this.base.listDistributionSets()).items;
    return page(
      overlay(all, this.#sets, (s) => s.id),
      DISTRIBUTION_SET_LIST_FIELDS,
      query,
    );
  }
  async findDistributionSet(name: string, version: string) {
    if (this.#sets.size === 0) return this.base.findDistributionSet(name, version);
    let oldest: DistributionSet | undefined;
    for (const set of (await this.listDistributionSets()).items)
      if (set.name === name && set.version === version && (!oldest || set.id < oldest.id))
        oldest = set;
    return oldest;
  }
  async putDistributionSet(set: DistributionSet, expectedRevision?: number) {
    const current = await this.getDistributionSet(set.id);
    checkVersion('distribution set', set.id, current?.revision, expectedRevision);
    this.#sets.set(set.id, set);
    this.writes.push({ kind: 'set', set, expected: expectedRevision });
  }
  async deleteDistributionSet(id: number) {
    const existed = (await this.getDistributionSet(id)) !== undefined;
    this.#sets.set(id, null);
    this.writes.push({ kind: 'deleteSet', id });
    return existed;
  }

  nextId(sequence: Sequence) {
    return this.base.nextId(sequence);
  }

  async appendOutbox(entries: readonly OutboxAppend[]) {
    if (entries.length > 0) this.writes.push({ kind: 'outbox', entries });
  }
  claimOutbox(claim: OutboxClaim) {
    return this.base.claimOutbox!(claim);
  }
  completeOutbox(ids: readonly number[], owner: string) {
    return this.base.completeOutbox!(ids, owner);
  }
  outboxStats() {
    return this.base.outboxStats!();
  }

  /** A nested unit joins this one. */
  transaction<T>(work: (tx: UpdateStore) => Promise<T>): Promise<T> {
    return work(this);
  }
}

interface HeldEntry extends OutboxEntry {
  owner?: string;
  leaseUntil?: number;
}

export interface MemoryUpdateStoreOptions {
  /** Epoch ms for outbox times and leases; injectable so tests control lease expiry. */
  clock?: () => number;
}

/** The in-memory store: one instance per process, nothing at module level. */
export class MemoryUpdateStore implements UpdateStore {
  readonly #clock: () => number;
  /** By id, so in id order (ids only grow). */
  readonly #outbox = new Map<number, HeldEntry>();
  #outboxId = 0;
  readonly #targets = new Map<string, TargetRecord>();
  readonly #actions = new Map<number, ActionRecord>();
  readonly #actionsByTarget = new Map<string, Set<number>>();
  /**
   * ref key -> ref value -> action id: nested rather than one joined key, so a lookup or a write
   * builds no key string.
   */
  readonly #refs = new Map<string, Map<string, number>>();
  readonly #modules = new Map<number, SoftwareModule>();
  readonly #sets = new Map<number, DistributionSet>();
  /** name NUL version -> ids of the sets carrying it, oldest first. */
  readonly #setsByName = new Map<string, Set<number>>();
  readonly #sequences = new Map<Sequence, number>();
  readonly #collections = new MemoryCollections();

  constructor(options: MemoryUpdateStoreOptions = {}) {
    this.#clock = options.clock ?? Date.now;
  }

  collection<T extends CollectionRecord>(collection: Collection<T>): CollectionStore<T> {
    return this.#collections.store(collection, this);
  }

  async getTarget(controllerId: string) {
    return this.#targets.get(controllerId);
  }
  async listTargets(query?: PageQuery) {
    return page(
      this.#targets.values(),
      TARGET_LIST_FIELDS,
      query,
      await loadTargetRelations(this, query),
    );
  }
  async putTarget(record: TargetRecord, expectedVersion?: number) {
    checkVersion(
      'target',
      record.controllerId,
      this.#targets.get(record.controllerId)?.version,
      expectedVersion,
    );
    this.#targets.set(record.controllerId, record);
  }
  async deleteTarget(controllerId: string) {
    return this.#deleteTarget(controllerId);
  }
  async touchTargets(contacts: readonly TargetContact[]) {
    for (const { controllerId, at } of contacts) {
      const record = this.#targets.get(controllerId);
      if (record) this.#targets.set(controllerId, withContact(record, at));
    }
  }
  async deleteAction(id: number) {
    return this.#deleteAction(id);
  }
  #deleteAction(id: number) {
    const action = this.#actions.get(id);
    if (!action) return false;
    for (const [k, v] of Object.entries(action.refs ?? {})) this.#dropRef(k, v, id);
    this.#actionsByTarget.get(action.controllerId)?.delete(id);
    return this.#actions.delete(id);
  }
  async setTargetGroup(group: string | undefined, selection: TargetSelection) {
    let written = 0;
    for (const record of await selectTargets(this, this.#targets.values(), selection)) {
      // Read again: the selection awaited, and a write may have come in meanwhile.
      const current = this.#targets.get(record.controllerId);
      if (!current || current.group === group) continue;
      this.#targets.set(current.controllerId, withGroup(current, group));
      written++;
    }
    return written;
  }
  async listTargetGroups() {
    return groupsOf(this.#targets.values());
  }
  #deleteTarget(controllerId: string) {
    const ids = this.#actionsByTarget.get(controllerId);
    for (const id of ids ?? []) {
      const action = this.#actions.get(id);
      for (const [k, v] of Object.entries(action?.refs ?? {})) this.#dropRef(k, v, id);
      this.#actions.delete(id);
    }
    this.#actionsByTarget.delete(controllerId);
    return this.#targets.delete(controllerId);
  }

  async getAction(id: number) {
    return this.#actions.get(id);
  }
  async listActionsOfTarget(controllerId: string) {
    const ids = this.#actionsByTarget.get(controllerId);
    if (!ids) return [];
    const out: ActionRecord[] = [];
    for (const id of ids) {
      const record = this.#actions.get(id);
      if (record) out.push(record);
    }
    return out;
  }
  async listActions(query?: PageQuery, controllerId?: string) {
    const all =
      controllerId === undefined
        ? [...this.#actions.values()].sort((a, b) => a.id - b.id)
        : (await this.listActionsOfTarget(controllerId)).sort((a, b) => a.id - b.id);
    return page(all, ACTION_LIST_FIELDS, query);
  }
  async putAction(record: ActionRecord, expectedVersion?: number) {
    checkVersion('action', record.id, this.#actions.get(record.id)?.version, expectedVersion);
    this.#putAction(record);
  }
  #putAction(record: ActionRecord) {
    const previous = this.#actions.get(record.id);
    this.#actions.set(record.id, record);
    // The common write, a step of a known action: same target, same refs object, so every index
    // already says what it should (each lookup here costs a cold hash-table probe per report).
    if (previous && previous.controllerId === record.controllerId && previous.refs === record.refs)
      return;
    // A reference that got a new value (or went away) must no longer find this action.
    if (previous?.refs && previous.refs !== record.refs) {
      for (const [k, v] of Object.entries(previous.refs)) {
        if (record.refs?.[k] === v) continue;
        this.#dropRef(k, v, record.id);
      }
    }
    let ids = this.#actionsByTarget.get(record.controllerId);
    if (!ids) {
      ids = new Set();
      this.#actionsByTarget.set(record.controllerId, ids);
    }
    ids.add(record.id);
    if (record.refs) {
      for (const k in record.refs) {
        let byValue = this.#refs.get(k);
        if (!byValue) {
          byValue = new Map();
          this.#refs.set(k, byValue);
        }
        byValue.set(record.refs[k]!, record.id);
      }
    }
  }
  /** Forgets `key = value` when it still names action `id` (never one that now names another). */
  #dropRef(key: string, value: string, id: number) {
    const byValue = this.#refs.get(key);
    if (byValue?.get(value) !== id) return;
    byValue.delete(value);
    if (byValue.size === 0) this.#refs.delete(key);
  }
  async findActionByRef(key: string, value: string) {
    const id = this.#refs.get(key)?.get(value);
    return id === undefined ? undefined : this.#actions.get(id);
  }

  async getSoftwareModule(id: number) {
    return this.#modules.get(id);
  }
  async listSoftwareModules(query?: PageQuery) {
    return page(this.#modules.values(), SOFTWARE_MODULE_LIST_FIELDS, query);
  }
  async findSoftwareModule(type: string, name: string, version: string) {
    return oldestModule(this.#modules.values(), type, name, version);
  }
  async putSoftwareModule(module: SoftwareModule, expectedRevision?: number) {
    checkVersion(
      'software module',
      module.id,
      this.#modules.get(module.id)?.revision,
      expectedRevision,
    );
    this.#modules.set(module.id, module);
  }
  async deleteSoftwareModule(id: number) {
    return this.#modules.delete(id);
  }

  async getDistributionSet(id: number) {
    return this.#sets.get(id);
  }
  async listDistributionSets(query?: PageQuery) {
    return page(this.#sets.values(), DISTRIBUTION_SET_LIST_FIELDS, query);
  }
  async findDistributionSet(name: string, version: string) {
    for (const id of this.#setsByName.get(`${name}\u0000${version}`) ?? []) {
      const set = this.#sets.get(id);
      if (set) return set;
    }
    return undefined;
  }
  async putDistributionSet(set: DistributionSet, expectedRevision?: number) {
    checkVersion('distribution set', set.id, this.#sets.get(set.id)?.revision, expectedRevision);
    this.#putDistributionSet(set);
  }
  #putDistributionSet(set: DistributionSet) {
    const previous = this.#sets.get(set.id);
    if (previous) this.#unindexSet(previous);
    this.#sets.set(set.id, set);
    const key = `${set.name}\u0000${set.version}`;
    let ids = this.#setsByName.get(key);
    if (!ids) {
      ids = new Set();
      this.#setsByName.set(key, ids);
    }
    ids.add(set.id);
  }
  async deleteDistributionSet(id: number) {
    return this.#deleteDistributionSet(id);
  }
  #deleteDistributionSet(id: number) {
    const previous = this.#sets.get(id);
    if (previous) this.#unindexSet(previous);
    return this.#sets.delete(id);
  }
  #unindexSet(set: DistributionSet) {
    const key = `${set.name}\u0000${set.version}`;
    const ids = this.#setsByName.get(key);
    ids?.delete(set.id);
    if (ids?.size === 0) this.#setsByName.delete(key);
  }

  async nextId(sequence: Sequence) {
    const next = (this.#sequences.get(sequence) ?? 0) + 1;
    this.#sequences.set(sequence, next);
    return next;
  }

  async countActionsByStatus() {
    const counts: Partial<Record<ActionStatus, number>> = {};
    for (const action of this.#actions.values()) {
      const status = actionStatusOfRecord(action);
      counts[status] = (counts[status] ?? 0) + 1;
    }
    return counts;
  }

  async ping() {}

  async appendOutbox(entries: readonly OutboxAppend[]) {
    this.#appendOutbox(entries);
  }
  #appendOutbox(entries: readonly OutboxAppend[]) {
    const createdAt = this.#clock();
    for (const { channel, event } of entries) {
      const id = ++this.#outboxId;
      this.#outbox.set(id, { id, channel, event, createdAt });
    }
  }

  async claimOutbox({ channel, limit, owner, leaseMs }: OutboxClaim): Promise<OutboxEntry[]> {
    const now = this.#clock();
    const out: OutboxEntry[] = [];
    for (const entry of this.#outbox.values()) {
      if (out.length >= limit) break;
      if (entry.channel !== channel) continue;
      const free =
        entry.owner === undefined || entry.owner === owner || (entry.leaseUntil ?? 0) < now;
      if (!free) continue;
      entry.owner = owner;
      entry.leaseUntil = now + leaseMs;
      out.push({ id: entry.id, channel, event: entry.event, createdAt: entry.createdAt });
    }
    return out;
  }

  async completeOutbox(ids: readonly number[], owner: string): Promise<number> {
    let done = 0;
    for (const id of ids) {
      const entry = this.#outbox.get(id);
      if (entry?.owner !== owner) continue;
      this.#outbox.delete(id);
      done++;
    }
    return done;
  }

  async outboxStats(): Promise<OutboxChannelStats[]> {
    const now = this.#clock();
    const byChannel = new Map<string, OutboxChannelStats>();
    for (const entry of this.#outbox.values()) {
      const stats = byChannel.get(entry.channel);
      if (stats) stats.depth++;
      else
        byChannel.set(entry.channel, {
          channel: entry.channel,
          depth: 1,
          oldestAgeMs: Math.max(0, now - entry.createdAt),
        });
    }
    return [...byChannel.values()].sort((a, b) => (a.channel < b.channel ? -1 : 1));
  }

  async transaction<T>(work: (tx: UpdateStore) => Promise<T>): Promise<T> {
    const tx = new MemoryTransaction(this);
    const result = await work(tx);
    this.#commit(tx.writes);
    return result;
  }

  /**
   * Replays a unit's writes, all or none. Synchronous, so nothing interleaves: first every key's
   * first versioned write is checked against the store as it is now (another writer may have
   * committed since the unit read it; later writes to the key were checked against the unit's
   * own), then all are applied. The internal writers are used, never the public methods, which a
   * subclass may have made asynchronous.
   */
  #commit(writes: readonly StagedWrite[]) {
    const checked = new Set<string>();
    for (const write of writes) {
      const key = keyOf(write);
      if (checked.has(key)) continue;
      checked.add(key);
      if (write.kind === 'target')
        checkVersion(
          'target',
          write.record.controllerId,
          this.#targets.get(write.record.controllerId)?.version,
          write.expected,
        );
      else if (write.kind === 'action')
        checkVersion(
          'action',
          write.record.id,
          this.#actions.get(write.record.id)?.version,
          write.expected,
        );
      else if (write.kind === 'module')
        checkVersion(
          'software module',
          write.module.id,
          this.#modules.get(write.module.id)?.revision,
          write.expected,
        );
      else if (write.kind === 'set')
        checkVersion(
          'distribution set',
          write.set.id,
          this.#sets.get(write.set.id)?.revision,
          write.expected,
        );
      else if (write.kind === 'collection') this.#collections.check(write.write);
    }
    for (const write of writes) {
      if (write.kind === 'target') this.#targets.set(write.record.controllerId, write.record);
      else if (write.kind === 'deleteTarget') this.#deleteTarget(write.controllerId);
      else if (write.kind === 'action') this.#putAction(write.record);
      else if (write.kind === 'deleteAction') this.#deleteAction(write.id);
      else if (write.kind === 'module') this.#modules.set(write.module.id, write.module);
      else if (write.kind === 'deleteModule') this.#modules.delete(write.id);
      else if (write.kind === 'set') this.#putDistributionSet(write.set);
      else if (write.kind === 'collection') this.#collections.apply(write.write);
      else if (write.kind === 'outbox') this.#appendOutbox(write.entries);
      else this.#deleteDistributionSet(write.id);
    }
  }
}
