import type { DistributionSet, SoftwareModule } from './catalogue.js';
import type { Collection, CollectionRecord, CollectionStore } from './collections.js';
import type { FilterNode } from './filter.js';
import type { ListRequest } from './listFields.js';
import type { OutboxAppend, OutboxChannelStats, OutboxClaim, OutboxEntry } from './outbox.js';
import type { ActionRecord, TargetRecord } from './records.js';
import type { ActionStatus } from './vocabulary.js';

export type Sequence =
  | 'action'
  | 'softwareModule'
  | 'distributionSet'
  | 'artifact'
  | `collection:${string}`;

/** A device was heard from at `at` (epoch ms): what `touchTargets` records. */
export interface TargetContact {
  controllerId: string;
  at: number;
}

export interface Page<T> {
  items: T[];
  total: number;
}

/** The targets `setTargetGroup` moves: those a filter (over the target list fields) matches, or those named. */
export type TargetSelection = { filter: FilterNode } | { controllerIds: readonly string[] };

/** How many targets one batch of `setTargetGroup` writes. */
export const TARGET_GROUP_BATCH = 1000;

/**
 * What a list takes: a filter over the entity's list fields (`listFields.ts`), a sort, a page.
 * Every part is optional; no limit means every match, and `limit: 0` answers only the total.
 */
export type PageQuery = ListRequest;

/**
 * Where the update state lives. Records are plain JSON; implementations must treat the objects
 * they are given and return as immutable. A write with `expectedVersion` that does not match the
 * stored version throws `OtaflowError('CONFLICT')`, so several processes can share one store; the
 * catalogue's writes do the same with `revision` (their `version` is the software's).
 */
export interface UpdateStore {
  getTarget(controllerId: string): Promise<TargetRecord | undefined>;
  /**
   * Optional: what a device's poll reads, its target (undefined: none) and the target's actions
   * as `listActionsOfTarget` lists them, in one read of one snapshot. The poll cache fills both
   * with it on a miss: one database round trip instead of two.
   */
  getTargetAndActions?(
    controllerId: string,
  ): Promise<{ target: TargetRecord | undefined; actions: ActionRecord[] }>;
  /** Optional: the targets of these ids that exist, in one read. Without it, `getTarget` each. */
  getTargets?(controllerIds: readonly string[]): Promise<TargetRecord[]>;
  /** Filtered by `TARGET_LIST_FIELDS`; ties (and no sort) in insertion order. */
  listTargets(query?: PageQuery): Promise<Page<TargetRecord>>;
  putTarget(record: TargetRecord, expectedVersion?: number): Promise<void>;
  /**
   * Optional: many targets that must not exist yet, in one write (the Management API's array
   * POST); CONFLICT when any exists. Without it, `putTarget(record, -1)` each.
   */
  putNewTargets?(records: readonly TargetRecord[]): Promise<void>;
  deleteTarget(controllerId: string): Promise<boolean>;
  /**
   * Moves each target's `lastContactAt` forward to its contact's time (never back), and nothing
   * else: no version is taken, so a concurrent versioned write does not conflict with it (and may
   * put an older time back; the next contact moves it on). Unknown targets are skipped, and a
   * store may skip one another writer holds locked rather than wait for it. Many
   * devices' polls in one call: hawkBit, too, persists poll times in batches. Not part of a unit.
   */
  touchTargets(contacts: readonly TargetContact[]): Promise<void>;
  /**
   * Puts the selected targets into `group` (undefined: out of any group), in batches of
   * `TARGET_GROUP_BATCH` inside the store, so that a filter over a whole fleet never loads it;
   * each target written takes a new version. A target whose group is already exactly `group` is
   * not written. Answers how many were. On a unit's `tx` the batches join the unit; otherwise
   * each commits by itself. No per-target event, as hawkBit's bulk UPDATE publishes none.
   */
  setTargetGroup(group: string | undefined, selection: TargetSelection): Promise<number>;
  /** Every group some target is in, each once, by code point. */
  listTargetGroups(): Promise<string[]>;

  getAction(id: number): Promise<ActionRecord | undefined>;
  /** Every action of one target, oldest first: what the rules decide over. */
  listActionsOfTarget(controllerId: string): Promise<ActionRecord[]>;
  /**
   * Actions filtered by `ACTION_LIST_FIELDS`, ties by id; with `controllerId`, only that target's
   * (an exact match, unlike a filter's case-insensitive `==`).
   */
  listActions(query?: PageQuery, controllerId?: string): Promise<Page<ActionRecord>>;
  putAction(record: ActionRecord, expectedVersion?: number): Promise<void>;
  /**
   * Optional: many actions that must not exist yet, in one write (a rollout's scheduled
   * actions); CONFLICT when any exists. Without it, `putAction(record, -1)` each.
   */
  putNewActions?(records: readonly ActionRecord[]): Promise<void>;
  /** Removes an action and its status history; false when there was none. */
  deleteAction(id: number): Promise<boolean>;
  findActionByRef(key: string, value: string): Promise<ActionRecord | undefined>;

  getSoftwareModule(id: number): Promise<SoftwareModule | undefined>;
  /** Filtered by `SOFTWARE_MODULE_LIST_FIELDS`; ties by id. */
  listSoftwareModules(query?: PageQuery): Promise<Page<SoftwareModule>>;
  /** The module with this type, name and version (the oldest, should several share them). */
  findSoftwareModule(
    type: string,
    name: string,
    version: string,
  ): Promise<SoftwareModule | undefined>;
  /** `expectedRevision` as `expectedVersion` elsewhere: -1 for a module that must not exist yet. */
  putSoftwareModule(module: SoftwareModule, expectedRevision?: number): Promise<void>;
  deleteSoftwareModule(id: number): Promise<boolean>;

  getDistributionSet(id: number): Promise<DistributionSet | undefined>;
  /** Filtered by `DISTRIBUTION_SET_LIST_FIELDS`; ties by id. */
  listDistributionSets(query?: PageQuery): Promise<Page<DistributionSet>>;
  /** The set with this name and version (the oldest, should several share them), if any. */
  findDistributionSet(name: string, version: string): Promise<DistributionSet | undefined>;
  putDistributionSet(set: DistributionSet, expectedRevision?: number): Promise<void>;
  deleteDistributionSet(id: number): Promise<boolean>;

  /**
   * The records of a collection (`collections.ts`): tags, types, metadata, rollouts... On a
   * unit's `tx`, reads see the unit's writes and writes join the unit.
   */
  collection<T extends CollectionRecord>(collection: Collection<T>): CollectionStore<T>;

  /** Sequences are not transactional: an id taken in a unit that rolls back is skipped. */
  nextId(sequence: Sequence): Promise<number>;
  /** Optional: `count` ids of a sequence in one call, ascending. Without it, `nextId` each. */
  nextIds?(sequence: Sequence, count: number): Promise<number[]>;

  /**
   * Optional: how many of the tenant's actions are in each status (statuses with none left out),
   * counted inside the store: what a metrics scrape reads, never a load of every action.
   */
  countActionsByStatus?(): Promise<Partial<Record<ActionStatus, number>>>;
  /**
   * Optional: resolves once the store answered a trivial request, rejects when it cannot (the
   * database is unreachable). Readiness probes call it; callers put their own timeout around it.
   */
  ping?(): Promise<void>;

  /**
   * The outbox (`outbox.ts`): what leaves the process is written here in the unit that makes the
   * change, and a relay hands it on. Optional: a store without it serves in-process listeners only.
   */
  appendOutbox?(entries: readonly OutboxAppend[]): Promise<void>;
  claimOutbox?(claim: OutboxClaim): Promise<OutboxEntry[]>;
  completeOutbox?(ids: readonly number[], owner: string): Promise<number>;
  outboxStats?(): Promise<OutboxChannelStats[]>;

  /**
   * Runs `work` as one unit: every write through `tx` commits together when it resolves, and none
   * does when it throws (the error is rethrown). A call on `tx` joins the outer unit. Inside,
   * `work` must go through `tx` only: a write on the root store is not part of the unit, and on a
   * single-connection database it waits for the unit to end, which never comes.
   */
  transaction<T>(work: (tx: UpdateStore) => Promise<T>): Promise<T>;
}

/** `store.putNewActions`, or one `putAction(record, -1)` each where the store has no batch. */
export async function putNewActionsOf(
  store: UpdateStore,
  records: readonly ActionRecord[],
): Promise<void> {
  if (store.putNewActions) return store.putNewActions(records);
  for (const record of records) await store.putAction(record, -1);
}

/** `store.putNewTargets`, or one `putTarget(record, -1)` each where the store has no batch. */
export async function putNewTargetsOf(
  store: UpdateStore,
  records: readonly TargetRecord[],
): Promise<void> {
  if (store.putNewTargets) return store.putNewTargets(records);
  for (const record of records) await store.putTarget(record, -1);
}

/** `store.nextIds`, or one `nextId` each where the store has no batch. */
export async function nextIdsOf(
  store: UpdateStore,
  sequence: Sequence,
  count: number,
): Promise<number[]> {
  if (store.nextIds) return store.nextIds(sequence, count);
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(await store.nextId(sequence));
  return ids;
}

/** `store.getTargets`, or one `getTarget` each where the store has no batch. */
export async function getTargetsOf(
  store: UpdateStore,
  controllerIds: readonly string[],
): Promise<TargetRecord[]> {
  if (store.getTargets) return store.getTargets(controllerIds);
  const found = await Promise.all(controllerIds.map((id) => store.getTarget(id)));
  return found.filter((t): t is TargetRecord => t !== undefined);
}
