import type { Collection, CollectionRecord, CollectionStore } from './collections.js';
import { withContact } from './MemoryUpdateStore.js';
import {
  type OutboxAppend,
  type OutboxChannelStats,
  type OutboxClaim,
  type OutboxEntry,
  outboxOf,
} from './outbox.js';
import type { ActionRecord, TargetRecord } from './records.js';
import {
  getTargetsOf,
  nextIdsOf,
  type Page,
  type PageQuery,
  putNewActionsOf,
  putNewTargetsOf,
  type Sequence,
  type TargetContact,
  type TargetSelection,
  type UpdateStore,
} from './UpdateStore.js';
import type { ActionStatus } from './vocabulary.js';

export interface CachingUpdateStoreOptions {
  /** Targets whose poll reads are kept; the least recently read go first (default 50,000). */
  maxEntries?: number;
}

/** What a poll reads of one target: the record (null: none) and its actions. */
interface Entry {
  target?: TargetRecord | null;
  actions?: readonly ActionRecord[];
}

/** Where a read stood when it began, to tell whether its key was forgotten while it ran. */
interface Mark {
  reading: { reads: number; generation: number };
  generation: number;
  epoch: number;
  forgotten?: boolean;
}

/**
 * A store in front of another that remembers what a device's poll reads (its target and the
 * target's actions), so that a poll of a target whose state did not change costs no round trip
 * to a database. Everything else goes straight through.
 *
 * It stays right by forgetting: every write through it forgets the target it touches, before the
 * write and again once it committed (a unit's writes when the unit ends, committed or not), and
 * whoever sees other processes' writes (a database's change notifications) calls `invalidate`.
 * A read that was under way while its key was forgotten answers, but is not kept: it may hold
 * what was there before. Records are immutable, so an entry is handed out as it is.
 *
 * While those notifications may be missing (the listening connection is down), call
 * `setEnabled(false)`: every read goes to the store, and nothing is kept until `setEnabled(true)`,
 * which starts from an empty cache.
 */
export class CachingUpdateStore implements UpdateStore {
  readonly #inner: UpdateStore;
  readonly #maxEntries: number;
  /** Insertion order is recency: a hit moves its key to the end. */
  readonly #entries = new Map<string, Entry>();
  /**
   * Reads under way, by key: a forgetting bumps `generation`, and a read keeps its answer only if
   * it is unchanged. Only keys being read are here, so a fleet's worth of change notifications
   * leaves nothing behind.
   */
  readonly #reading = new Map<string, { reads: number; generation: number }>();
  #epoch = 0;
  #enabled = true;
  #hits = 0;
  #misses = 0;
  /** The store's own, where it has them: a count or a probe is never answered from the cache. */
  readonly countActionsByStatus?: () => Promise<Partial<Record<ActionStatus, number>>>;
  readonly ping?: () => Promise<void>;

  constructor(inner: UpdateStore, options: CachingUpdateStoreOptions = {}) {
    this.#inner = inner;
    this.#maxEntries = Math.max(0, options.maxEntries ?? 50_000);
    const count = inner.countActionsByStatus;
    if (count) this.countActionsByStatus = () => count.call(inner);
    const ping = inner.ping;
    if (ping) this.ping = () => ping.call(inner);
  }

  /** The store behind the cache. */
  get inner(): UpdateStore {
    return this.#inner;
  }

  /** Hits and misses of the poll reads since the start, and the entries kept. */
  stats(): { hits: number; misses: number; entries: number } {
    return { hits: this.#hits, misses: this.#misses, entries: this.#entries.size };
  }

  /** Another process changed this target or its actions. */
  invalidate(controllerId: string): void {
    this.#entries.delete(controllerId);
    const reading = this.#reading.get(controllerId);
    if (reading) reading.generation++;
  }

  /** Anything may have changed (e.g. change notifications were lost). */
  invalidateAll(): void {
    this.#entries.clear();
    this.#epoch++;
  }

  setEnabled(enabled: boolean): void {
    if (enabled !== this.#enabled) this.invalidateAll();
    this.#enabled = enabled;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  async getTarget(controllerId: string): Promise<TargetRecord | undefined> {
    const cached = this.#hit(controllerId)?.target;
    if (cached !== undefined) {
      this.#hits++;
      return cached ?? undefined;
    }
    this.#misses++;
    const mark = this.#mark(controllerId);
    let target: TargetRecord | undefined;
    let actions: ActionRecord[] | undefined;
    try {
      // A poll reads the actions next: both in one round trip where the store can.
      if (this.#inner.getTargetAndActions)
        ({ target, actions } = await this.#inner.getTargetAndActions(controllerId));
      else target = await this.#inner.getTarget(controllerId);
    } finally {
      this.#done(controllerId, mark);
    }
    this.#keep(controllerId, mark, (entry) => {
      entry.target = target ?? null;
      if (actions) entry.actions = actions.slice();
    });
    return target;
  }

  async listActionsOfTarget(controllerId: string): Promise<ActionRecord[]> {
    const cached = this.#hit(controllerId)?.actions;
    if (cached !== undefined) {
      this.#hits++;
      // The caller owns the array it gets (the records stay shared: they are immutable).
      return cached.slice();
    }
    this.#misses++;
    const mark = this.#mark(controllerId);
    let actions: ActionRecord[];
    try {
      actions = await this.#inner.listActionsOfTarget(controllerId);
    } finally {
      this.#done(controllerId, mark);
    }
    this.#keep(controllerId, mark, (entry) => {
      entry.actions = actions.slice();
    });
    return actions;
  }

  #hit(controllerId: string): Entry | undefined {
    if (!this.#enabled) return undefined;
    const entry = this.#entries.get(controllerId);
    if (entry) {
      this.#entries.delete(controllerId);
      this.#entries.set(controllerId, entry);
    }
    return entry;
  }

  #mark(controllerId: string): Mark {
    let reading = this.#reading.get(controllerId);
    if (!reading) {
      reading = { reads: 0, generation: 0 };
      this.#reading.set(controllerId, reading);
    }
    reading.reads++;
    return { reading, generation: reading.generation, epoch: this.#epoch };
  }

  /** The read has its answer: whether it was forgotten meanwhile is now in its mark. */
  #done(controllerId: string, mark: Mark): void {
    mark.forgotten = mark.reading.generation !== mark.generation;
    if (--mark.reading.reads === 0) this.#reading.delete(controllerId);
  }

  #keep(controllerId: string, mark: Mark, fill: (entry: Entry) => void): void {
    if (!this.#enabled || this.#maxEntries === 0 || mark.epoch !== this.#epoch || mark.forgotten)
      return;
    let entry = this.#entries.get(controllerId);
    if (!entry) {
      entry = {};
      this.#entries.set(controllerId, entry);
      if (this.#entries.size > this.#maxEntries) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
    }
    fill(entry);
  }

  /** Forgets the key now and once the write has ended, whatever its outcome. */
  async #writing<T>(controllerId: string, write: () => Promise<T>): Promise<T> {
    this.invalidate(controllerId);
    try {
      return await write();
    } finally {
      this.invalidate(controllerId);
    }
  }

  putTarget(record: TargetRecord, expectedVersion?: number): Promise<void> {
    return this.#writing(record.controllerId, () => this.#inner.putTarget(record, expectedVersion));
  }

  async putNewTargets(records: readonly TargetRecord[]): Promise<void> {
    for (const r of records) this.invalidate(r.controllerId);
    try {
      await putNewTargetsOf(this.#inner, records);
    } finally {
      // A poll that missed the target while the write was under way kept nothing stale.
      for (const r of records) this.invalidate(r.controllerId);
    }
  }

  deleteTarget(controllerId: string): Promise<boolean> {
    return this.#writing(controllerId, () => this.#inner.deleteTarget(controllerId));
  }

  /** Written through; the kept records get the new time too (no other process announces it). */
  async touchTargets(contacts: readonly TargetContact[]): Promise<void> {
    await this.#inner.touchTargets(contacts);
    for (const { controllerId, at } of contacts) {
      const entry = this.#entries.get(controllerId);
      if (entry?.target) entry.target = withContact(entry.target, at);
    }
  }

  async putAction(record: ActionRecord, expectedVersion?: number): Promise<void> {
    // An action that moved to another target (the store allows it) leaves its old one too.
    const before =
      expectedVersion === undefined ? await this.#inner.getAction(record.id) : undefined;
    if (before && before.controllerId !== record.controllerId) this.invalidate(before.controllerId);
    return this.#writing(record.controllerId, () => this.#inner.putAction(record, expectedVersion));
  }

  getTargets(controllerIds: readonly string[]): Promise<TargetRecord[]> {
    return getTargetsOf(this.#inner, controllerIds);
  }

  async deleteAction(id: number): Promise<boolean> {
    const action = await this.#inner.getAction(id);
    if (!action) return false;
    return this.#writing(action.controllerId, () => this.#inner.deleteAction(id));
  }

  async putNewActions(records: readonly ActionRecord[]): Promise<void> {
    await putNewActionsOf(this.#inner, records);
    for (const r of records) this.invalidate(r.controllerId);
  }

  nextIds(sequence: Sequence, count: number): Promise<number[]> {
    return nextIdsOf(this.#inner, sequence, count);
  }

  // The outbox is not cached: it passes through (a typed error when the inner store has none).
  appendOutbox(entries: readonly OutboxAppend[]): Promise<void> {
    return outboxOf(this.#inner).appendOutbox(entries);
  }
  claimOutbox(claim: OutboxClaim): Promise<OutboxEntry[]> {
    return outboxOf(this.#inner).claimOutbox(claim);
  }
  completeOutbox(ids: readonly number[], owner: string): Promise<number> {
    return outboxOf(this.#inner).completeOutbox(ids, owner);
  }
  outboxStats(): Promise<OutboxChannelStats[]> {
    return outboxOf(this.#inner).outboxStats();
  }

  /** Which targets a filter moves is known only to the store: everything is forgotten. */
  async setTargetGroup(group: string | undefined, selection: TargetSelection): Promise<number> {
    this.invalidateAll();
    try {
      return await this.#inner.setTargetGroup(group, selection);
    } finally {
      this.invalidateAll();
    }
  }

  async transaction<T>(work: (tx: UpdateStore) => Promise<T>): Promise<T> {
    const touched = new Set<Touched>();
    try {
      return await this.#inner.transaction((tx) => work(new UnitView(tx, this, touched)));
    } finally {
      for (const key of touched) {
        if (key === EVERY_TARGET) this.invalidateAll();
        else this.invalidate(key);
      }
    }
  }

  // ------------------------------------------------------------ straight through

  listTargets(query?: PageQuery): Promise<Page<TargetRecord>> {
    return this.#inner.listTargets(query);
  }
  listTargetGroups(): Promise<string[]> {
    return this.#inner.listTargetGroups();
  }
  getAction(id: number): Promise<ActionRecord | undefined> {
    return this.#inner.getAction(id);
  }
  listActions(query?: PageQuery, controllerId?: string): Promise<Page<ActionRecord>> {
    return this.#inner.listActions(query, controllerId);
  }
  findActionByRef(key: string, value: string): Promise<ActionRecord | undefined> {
    return this.#inner.findActionByRef(key, value);
  }
  getSoftwareModule(id: number) {
    return this.#inner.getSoftwareModule(id);
  }
  listSoftwareModules(query?: PageQuery) {
    return this.#inner.listSoftwareModules(query);
  }
  findSoftwareModule(type: string, name: string, version: string) {
    return this.#inner.findSoftwareModule(type, name, version);
  }
  putSoftwareModule(...args: Parameters<UpdateStore['putSoftwareModule']>) {
    return this.#inner.putSoftwareModule(...args);
  }
  deleteSoftwareModule(id: number) {
    return this.#inner.deleteSoftwareModule(id);
  }
  getDistributionSet(id: number) {
    return this.#inner.getDistributionSet(id);
  }
  listDistributionSets(query?: PageQuery) {
    return this.#inner.listDistributionSets(query);
  }
  findDistributionSet(name: string, version: string) {
    return this.#inner.findDistributionSet(name, version);
  }
  putDistributionSet(...args: Parameters<UpdateStore['putDistributionSet']>) {
    return this.#inner.putDistributionSet(...args);
  }
  deleteDistributionSet(id: number) {
    return this.#inner.deleteDistributionSet(id);
  }
  collection<T extends CollectionRecord>(collection: Collection<T>): CollectionStore<T> {
    return this.#inner.collection(collection);
  }
  nextId(sequence: Sequence): Promise<number> {
    return this.#inner.nextId(sequence);
  }
}

/** What a unit wrote: a target, or any (a group move by filter). */
const EVERY_TARGET = Symbol('every target');
type Touched = string | typeof EVERY_TARGET;

/**
 * A unit's store as the caching store hands it out: reads and writes go to the unit (never the
 * cache: the unit must see its own writes), and each target it writes is forgotten at once and
 * again when the unit ends.
 */
class UnitView implements UpdateStore {
  constructor(
    readonly tx: UpdateStore,
    readonly cache: CachingUpdateStore,
    readonly touched: Set<Touched>,
  ) {}

  #touch(controllerId: string) {
    this.touched.add(controllerId);
    this.cache.invalidate(controllerId);
  }

  async putTarget(record: TargetRecord, expectedVersion?: number) {
    this.#touch(record.controllerId);
    return this.tx.putTarget(record, expectedVersion);
  }
  async deleteTarget(controllerId: string) {
    this.#touch(controllerId);
    return this.tx.deleteTarget(controllerId);
  }
  touchTargets(contacts: readonly TargetContact[]) {
    return this.cache.touchTargets(contacts);
  }
  /** In the unit (a root call would wait for it); which targets it moves, only the store knows. */
  async setTargetGroup(group: string | undefined, selection: TargetSelection) {
    this.touched.add(EVERY_TARGET);
    this.cache.invalidateAll();
    return this.tx.setTargetGroup(group, selection);
  }
  async putAction(record: ActionRecord, expectedVersion?: number) {
    this.#touch(record.controllerId);
    const before = expectedVersion === undefined ? await this.tx.getAction(record.id) : undefined;
    if (before && before.controllerId !== record.controllerId) this.#touch(before.controllerId);
    return this.tx.putAction(record, expectedVersion);
  }
  getTargets(controllerIds: readonly string[]) {
    return getTargetsOf(this.tx, controllerIds);
  }
  async deleteAction(id: number) {
    const action = await this.tx.getAction(id);
    if (action) this.#touch(action.controllerId);
    return this.tx.deleteAction(id);
  }
  async putNewTargets(records: readonly TargetRecord[]) {
    for (const r of records) this.#touch(r.controllerId);
    return putNewTargetsOf(this.tx, records);
  }
  async putNewActions(records: readonly ActionRecord[]) {
    for (const r of records) this.#touch(r.controllerId);
    return putNewActionsOf(this.tx, records);
  }
  nextIds(sequence: Sequence, count: number) {
    return nextIdsOf(this.tx, sequence, count);
  }
  appendOutbox(entries: readonly OutboxAppend[]) {
    return outboxOf(this.tx).appendOutbox(entries);
  }
  claimOutbox(claim: OutboxClaim) {
    return outboxOf(this.tx).claimOutbox(claim);
  }
  completeOutbox(ids: readonly number[], owner: string) {
    return outboxOf(this.tx).completeOutbox(ids, owner);
  }
  outboxStats() {
    return outboxOf(this.tx).outboxStats();
  }
  transaction<T>(work: (tx: UpdateStore) => Promise<T>): Promise<T> {
    return work(this);
  }

  getTarget(controllerId: string) {
    return this.tx.getTarget(controllerId);
  }
  listTargets(query?: PageQuery) {
    return this.tx.listTargets(query);
  }
  listTargetGroups() {
    return this.tx.listTargetGroups();
  }
  getAction(id: number) {
    return this.tx.getAction(id);
  }
  listActionsOfTarget(controllerId: string) {
    return this.tx.listActionsOfTarget(controllerId);
  }
  listActions(query?: PageQuery, controllerId?: string) {
    return this.tx.listActions(query, controllerId);
  }
  findActionByRef(key: string, value: string) {
    return this.tx.findActionByRef(key, value);
  }
  getSoftwareModule(id: number) {
    return this.tx.getSoftwareModule(id);
  }
  listSoftwareModules(query?: PageQuery) {
    return this.tx.listSoftwareModules(query);
  }
  findSoftwareModule(type: string, name: string, version: string) {
    return this.tx.findSoftwareModule(type, name, version);
  }
  putSoftwareModule(...args: Parameters<UpdateStore['putSoftwareModule']>) {
    return this.tx.putSoftwareModule(...args);
  }
  deleteSoftwareModule(id: number) {
    return this.tx.deleteSoftwareModule(id);
  }
  getDistributionSet(id: number) {
    return this.tx.getDistributionSet(id);
  }
  listDistributionSets(query?: PageQuery) {
    return this.tx.listDistributionSets(query);
  }
  findDistributionSet(name: string, version: string) {
    return this.tx.findDistributionSet(name, version);
  }
  putDistributionSet(...args: Parameters<UpdateStore['putDistributionSet']>) {
    return this.tx.putDistributionSet(...args);
  }
  deleteDistributionSet(id: number) {
    return this.tx.deleteDistributionSet(id);
  }
  collection<T extends CollectionRecord>(collection: Collection<T>): CollectionStore<T> {
    return this.tx.collection(collection);
  }
  nextId(sequence: Sequence) {
    return this.tx.nextId(sequence);
  }
}
