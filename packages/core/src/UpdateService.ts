import type { ActionEvent } from './actionEvents.js';
import type { ActionInput } from './actionMachine.js';
import { isActiveStateValue } from './actionStates.js';
import type { ActionView } from './actions.js';
import type { Artifact, DistributionSet, MetadataEntry, SoftwareModule } from './catalogue.js';
import type { Collection, CollectionRecord, CollectionStore } from './collections.js';
import type { AssignedModule, AssignedTarget, DomainEvent } from './domainEvents.js';
import {
  newPersistedAction,
  type PersistedActionStep,
  stepPersistedAction,
} from './fastTransitions.js';
import { KeyedLock } from './KeyedLock.js';
import { OtaflowError } from './OtaflowError.js';
import { outboxOf } from './outbox.js';
import { type PersistedSnapshot, persistTarget } from './persistence.js';
import {
  type ActionRecord,
  type AutoConfirm,
  INSTALLED_REPORT_REF,
  MAX_APPLIED_KEYS,
  type TargetChannel,
  type TargetRecord,
} from './records.js';
import {
  confirmationStateOf,
  MAX_ATTRIBUTES_PER_TARGET,
  type NextAction,
  planAssignment,
  selectNextAction,
} from './rules.js';
import { type TargetEvent, targetStatusOfState } from './targetMachine.js';
import { createTargetSnapshot, stepPersistedTarget } from './targets.js';
import {
  getTargetsOf,
  nextIdsOf,
  type Page,
  type PageQuery,
  putNewActionsOf,
  putNewTargetsOf,
  type TargetSelection,
  type UpdateStore,
} from './UpdateStore.js';
import {
  actionHistoryOfRecord,
  actionViewOfRecord,
  type StoredActionView,
  type TargetView,
  targetViewOfRecord,
} from './views.js';
import type {
  ActionType,
  MaintenanceWindow,
  StatusEntry,
  TargetUpdateStatus,
} from './vocabulary.js';
import { ControllerId, DEFAULT_MAX_HISTORY, DEFAULT_WEIGHT } from './vocabulary.js';

/** Ids `ControllerId` surely accepts (none of white space, control characters, / \\ ? #; not . or ..). */
const CONTROLLER_ID_FAST = /^(?!\.\.?$)[^\s\p{Cc}/\\?#]+$/u;

export type DomainEventListener = (event: DomainEvent) => void | Promise<void>;

export interface UpdateServiceOptions {
  store: UpdateStore;
  /** Epoch ms; injectable so tests and simulations control time. */
  clock?: () => number;
  /** Bound of each action's status history (hawkBit: 1000). */
  maxHistory?: number;
  /** Called when a domain event listener throws or rejects; the state change stands. */
  onListenerError?: (error: unknown, event: DomainEvent) => void;
  /**
   * Sees every stored machine transition (creation included, with `event` undefined). Apps use it to
   * stream targets and actions to the XState inspector; it must not throw.
   */
  onTransition?: (transition: MachineTransition) => void;
  /**
   * How long a known device's poll time waits before it is written, with every other one that
   * came in meanwhile, in one `touchTargets` (default 1000 ms; 0 writes each at once). Also
   * written once 1000 are waiting, and by `flushContacts` (call it before closing the store).
   */
  contactFlushMs?: number;
  /** Called when writing poll times fails; they are kept for the next try. */
  onContactFlushError?: (error: unknown) => void;
  /**
   * Writes every domain event to the store's outbox, once per channel, in the unit that makes
   * the change (before it commits), for relays (`OutboxRelay`) to hand on. In-process listeners
   * still hear every event after its commit.
   */
  outbox?: { channels: readonly string[] };
}

export interface MachineTransition {
  machine: 'action' | 'target';
  /** The action id or the controller id. */
  id: string;
  event: ActionEvent | TargetEvent | undefined;
  snapshot: PersistedSnapshot;
}

export interface CreateTargetInput {
  controllerId: string;
  name?: string;
  description?: string;
  securityToken?: string;
  address?: string;
  channel?: TargetChannel;
  group?: string;
  attributes?: Record<string, string>;
  targetType?: number;
}

export type TargetPatch = Partial<
  Pick<
    TargetRecord,
    'name' | 'description' | 'securityToken' | 'address' | 'channel' | 'requestAttributes' | 'group'
  >
> & {
  /** `null` removes it. */
  targetType?: number | null;
};

export type AttributeUpdateMode = 'merge' | 'replace' | 'remove';

export interface CreateSoftwareModuleInput {
  type: string;
  name: string;
  version: string;
  vendor?: string;
  description?: string;
  encrypted?: boolean;
  metadata?: MetadataEntry[];
}

export interface CreateDistributionSetInput {
  name: string;
  version: string;
  type?: string;
  description?: string;
  requiredMigrationStep?: boolean;
  modules: number[];
}

export interface AssignTargetInput {
  controllerId: string;
  type?: ActionType;
  weight?: number;
  forcedTime?: number;
  confirmationRequired?: boolean;
  maintenanceWindow?: MaintenanceWindow;
  /** Part of a rollout group that has not started: the action waits in SCHEDULED. */
  scheduled?: boolean;
  /** The rollout and group the action belongs to. */
  rolloutId?: number;
  rolloutGroupId?: number;
}

export interface AssignmentResult {
  assigned: number;
  alreadyAssigned: number;
  total: number;
  actions: ActionView[];
}

export type ApplyResult =
  | { ok: true; action: ActionView; targetStatus: TargetUpdateStatus; changed: boolean }
  | {
      ok: false;
      code:
        | 'ACTION_NOT_FOUND'
        | 'ACTION_CLOSED'
        | 'EVENT_NOT_ALLOWED'
        | 'DUPLICATE_REPORT'
        /** `statusQuota`: the action holds `maxHistory` entries and the report would not close it. */
        | 'QUOTA_EXCEEDED';
      message: string;
      action?: ActionView;
    };

/** Options of `UpdateService.apply`. */
export interface ApplyOptions {
  /**
   * The target the report came from: an action of another target is refused as ACTION_NOT_FOUND,
   * as if it did not exist, and nothing changes.
   */
  controllerId?: string;
  /**
   * The report's own identity (a protocol's delivery key): the action stores it with the
   * transition, and a report with a key the action already took is answered DUPLICATE_REPORT and
   * changes nothing, in this process, after a restart or in another process sharing the store. The
   * last `MAX_APPLIED_KEYS` keys are kept.
   */
  once?: string;
  /**
   * hawkBit's `maxStatusEntriesPerAction` for a device's own report: one that would leave the
   * action open is refused (QUOTA_EXCEEDED) once the action holds `maxHistory` entries, those the
   * server recorded (RETRIEVED) included. A closing report always passes.
   */
  statusQuota?: boolean;
}

/** What `findActionIdByRef` answers: enough to apply a report, without building a view. */
export interface ActionRefMatch {
  id: number;
  controllerId: string;
  /** The action's protocol references as stored (not a copy: do not change it). */
  refs: Readonly<Record<string, string>>;
}

const CONFLICT_RETRIES = 5;
const NO_REFS: Readonly<Record<string, string>> = Object.freeze({});

/** Runs `work` again from the start when its write lost to another (CONFLICT), a few times. */
/** Targets whose assignment commits as one unit (see `assignBatch`). */
const ASSIGN_BATCH = 200;
/** hawkBit's tenant default of `action.delete.allowed.statuses`. */
export const DELETABLE_STATUSES: readonly string[] = ['CANCELED', 'ERROR', 'FINISHED'];
/** Batches of a rollout group started at once: disjoint targets, separate units. */
const START_CONCURRENCY = 4;

async function retryOnConflict<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (error instanceof OtaflowError && error.code === 'CONFLICT' && attempt < CONFLICT_RETRIES)
        continue;
      throw error;
    }
  }
}

function actionNotFound(actionId: number): ApplyResult {
  return { ok: false, code: 'ACTION_NOT_FOUND', message: `action ${actionId} not found` };
}

function duplicateReport(record: ActionRecord, once: string): ApplyResult {
  return {
    ok: false,
    code: 'DUPLICATE_REPORT',
    message: `action ${record.id} already took report ${once}`,
    action: actionViewOfRecord(record),
  };
}

/** The keys after taking `once`: a new array (records are immutable), the oldest dropped at the bound. */
function withAppliedKey(applied: readonly string[] | undefined, once: string): string[] {
  if (applied === undefined) return [once];
  const keep =
    applied.length < MAX_APPLIED_KEYS
      ? applied.slice()
      : applied.slice(applied.length - MAX_APPLIED_KEYS + 1);
  keep.push(once);
  return keep;
}

/**
 * The protocol-independent update logic over a store: targets, the catalogue, assignments and
 * every action event. Adapters call it; it decides. Per target, work runs one at a time in this
 * process, and every write names the version it read, so a shared store stays consistent across
 * processes (a conflicting write is retried from a fresh read).
 */
export class UpdateService {
  /**
   * Private: adapters and apps go through the service's methods, so the store boundary is the only
   * way to state. A test that needs the records keeps the store it created.
   */
  readonly #store: UpdateStore;
  readonly #clock: () => number;
  readonly #maxHistory: number;
  readonly #listeners = new Set<DomainEventListener>();
  readonly #onListenerError: (error: unknown, event: DomainEvent) => void;
  readonly #lock = new KeyedLock();
  /** The events of each unit of work under way, sent when it commits (see `#unit`). */
  readonly #deferred = new WeakMap<UpdateStore, DomainEvent[]>();
  /** Catalogue entries by kind and id: their own lock, so no controller id can share a key. */
  readonly #catalogueLock = new KeyedLock();
  readonly #onTransition: ((transition: MachineTransition) => void) | undefined;
  /** Poll times not written yet, by controller id. */
  #contacts = new Map<string, number>();
  #contactTimer: ReturnType<typeof setTimeout> | undefined;
  #contactFlush: Promise<void> | undefined;
  readonly #contactFlushMs: number;
  readonly #onContactFlushError: (error: unknown) => void;
  /** Outbox channels; empty when there is no outbox. */
  readonly #channels: readonly string[];

  constructor(options: UpdateServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? Date.now;
    this.#maxHistory = options.maxHistory ?? DEFAULT_MAX_HISTORY;
    this.#onListenerError = options.onListenerError ?? (() => {});
    this.#onTransition = options.onTransition;
    this.#contactFlushMs = Math.max(0, options.contactFlushMs ?? 1000);
    this.#onContactFlushError = options.onContactFlushError ?? (() => {});
    this.#channels = [...new Set(options.outbox?.channels ?? [])];
    if (this.#channels.length > 0) outboxOf(this.#store);
  }

  /**
   * A known device was heard from and nothing about it changes but its poll time: recorded for
   * the next batch (see `contactFlushMs`), so that a poll costs no write of its own. Registration
   * and a first contact (UNKNOWN -> REGISTERED) go through `contact`, at once.
   */
  touch(controllerId: string, at: number = this.#clock()): void {
    this.#contacts.set(controllerId, Math.max(at, this.#contacts.get(controllerId) ?? at));
    if (this.#contacts.size >= 1000 || this.#contactFlushMs === 0) {
      void this.flushContacts();
    } else if (!this.#contactTimer) {
      this.#contactTimer = setTimeout(() => void this.flushContacts(), this.#contactFlushMs);
      // A pending batch must not keep a process alive; its owner flushes before closing.
      (this.#contactTimer as { unref?: () => void }).unref?.();
    }
  }

  /** Writes every waiting poll time now; resolves when they are (or the write failed). */
  async flushContacts(): Promise<void> {
    if (this.#contactTimer) clearTimeout(this.#contactTimer);
    this.#contactTimer = undefined;
    // One write at a time: a batch that arrives meanwhile waits for it.
    while (this.#contactFlush) await this.#contactFlush;
    if (this.#contacts.size === 0) return;
    const batch = this.#contacts;
    this.#contacts = new Map();
    const contacts = [...batch].map(([controllerId, at]) => ({ controllerId, at }));
    this.#contactFlush = this.#store.touchTargets(contacts).catch((error: unknown) => {
      for (const [id, at] of batch)
        this.#contacts.set(id, Math.max(at, this.#contacts.get(id) ?? at));
      this.#onContactFlushError(error);
    });
    try {
      await this.#contactFlush;
    } finally {
      this.#contactFlush = undefined;
    }
  }

  #observe(
    machine: 'action' | 'target',
    id: string | number,
    event: ActionEvent | TargetEvent | undefined,
    snapshot: PersistedSnapshot,
  ): void {
    this.#onTransition?.({ machine, id: String(id), event, snapshot });
  }

  now(): number {
    return this.#clock();
  }

  /** Subscribes to domain events; returns the unsubscribe function. */
  onEvent(listener: DomainEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * True when a domain event would reach someone. With nobody subscribed, callers build neither
   * the event nor the view it is made from; they still read the clock once, as the event would
   * have, so an injected clock sees the same calls either way.
   */
  #listened(): boolean {
    if (this.#listeners.size > 0 || this.#channels.length > 0) return true;
    this.#clock();
    return false;
  }

  /**
   * Sends a domain event, or, when `store` is a unit of work under way, keeps it until that unit
   * has committed: a listener (the SIE publisher, the Huawei dispatcher) must never hear of an
   * action that a rollback then takes back, nor read the store before the change is there.
   */
  #emit(event: DomainEvent, store?: UpdateStore): void {
    const pending = store && this.#deferred.get(store);
    if (pending) {
      pending.push(event);
      return;
    }
    for (const listener of this.#listeners) {
      try {
        const result = listener(event);
        if (result && typeof (result as Promise<void>).catch === 'function') {
          (result as Promise<void>).catch((error) => this.#onListenerError(error, event));
        }
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }

  /**
   * Runs `work` as one unit of the store; the domain events it emits go out once it has committed,
   * and not at all when it rolls back. Inside a unit already, it joins that unit and its events.
   */
  async #unit<T>(store: UpdateStore, work: (tx: UpdateStore) => Promise<T>): Promise<T> {
    const outer = this.#deferred.get(store);
    if (outer)
      return store.transaction((tx) => {
        this.#deferred.set(tx, outer);
        return work(tx);
      });
    let events: DomainEvent[] = [];
    const result = await store.transaction(async (tx) => {
      // A store may run the work again after a conflict: only the last attempt's events count.
      events = [];
      this.#deferred.set(tx, events);
      const out = await work(tx);
      // In the unit, so the events commit with the change or not at all.
      if (this.#channels.length > 0 && events.length > 0)
        await outboxOf(tx).appendOutbox(
          events.flatMap((event) => this.#channels.map((channel) => ({ channel, event }))),
        );
      return out;
    });
    for (const event of events) this.#emit(event);
    return result;
  }

  /**
   * A change that emits: with an outbox, one unit, so that its events are written with it; without
   * one, straight on the store, its events sent at once (the change is already there).
   */
  #change<T>(work: (store: UpdateStore) => Promise<T>): Promise<T> {
    return this.#channels.length > 0 ? this.#unit(this.#store, work) : work(this.#store);
  }

  async #withTarget<T>(controllerId: string, work: () => Promise<T>): Promise<T> {
    return this.#lock.run(controllerId, () => retryOnConflict(work));
  }

  // ---------------------------------------------------------------- targets

  async createTarget(input: CreateTargetInput): Promise<TargetView> {
    // Not checked against ControllerId here (yet): huawei-webhook creates targets named after
    // platform device ids, which may hold a slash, and its tests pin one ('dev/1'). The Management
    // API checks ids at its edge; devices that register themselves come through `contact`.
    return this.#withTarget(input.controllerId, async () => {
      if (await this.#store.getTarget(input.controllerId)) {
        throw new OtaflowError('TARGET_EXISTS', `target ${input.controllerId} exists`);
      }
      const record = this.#newTarget(input);
      return this.#change(async (store) => {
        await store.putTarget(record, -1);
        this.#observe('target', record.controllerId, undefined, record.state);
        const view = targetViewOfRecord(record);
        this.#emitTarget('TARGET_CREATED', view, store);
        return view;
      });
    });
  }

  /**
   * Many new targets as one unit (the Management API's array POST): TARGET_EXISTS, and none is
   * created, when an id is known or given twice. One read and one batched write where the store
   * has them, so that a fleet can be set up in bulk requests rather than a round trip a target.
   */
  async createTargets(inputs: readonly CreateTargetInput[]): Promise<TargetView[]> {
    const ids = inputs.map((input) => input.controllerId);
    const exists = (id: string) => new OtaflowError('TARGET_EXISTS', `target ${id} exists`);
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) throw exists(id);
      seen.add(id);
    }
    const records = inputs.map((input) => this.#newTarget(input));
    await this.#unit(this.#store, async (tx) => {
      const known = await getTargetsOf(tx, ids);
      if (known[0]) throw exists(known[0].controllerId);
      try {
        await putNewTargetsOf(tx, records);
      } catch (error) {
        // Created meanwhile by another request or backend: the same answer as found above.
        if (error instanceof OtaflowError && error.code === 'CONFLICT') throw exists(ids[0]!);
        throw error;
      }
      for (const record of records)
        this.#emitTarget('TARGET_CREATED', targetViewOfRecord(record), tx);
    });
    for (const record of records)
      this.#observe('target', record.controllerId, undefined, record.state);
    return records.map(targetViewOfRecord);
  }

  #newTarget(input: CreateTargetInput): TargetRecord {
    const now = this.#clock();
    const record: TargetRecord = {
      controllerId: input.controllerId,
      name: input.name ?? input.controllerId,
      securityToken: input.securityToken ?? randomToken(),
      attributes: input.attributes ?? {},
      requestAttributes: true,
      version: 0,
      state: persistTarget(
        createTargetSnapshot({ controllerId: input.controllerId, createdAt: now }),
      ),
    };
    if (input.description !== undefined) record.description = input.description;
    if (input.address !== undefined) record.address = input.address;
    if (input.channel !== undefined) record.channel = input.channel;
    if (input.targetType !== undefined) record.targetType = input.targetType;
    if (input.group !== undefined) record.group = input.group;
    return record;
  }

  #emitTarget(
    type: 'TARGET_CREATED' | 'TARGET_UPDATED' | 'TARGET_DELETED',
    view: TargetView,
    store?: UpdateStore,
  ): void {
    if (!this.#listened()) return;
    this.#emit(
      {
        type,
        controllerId: view.controllerId,
        updateStatus: view.updateStatus,
        timestamp: this.#clock(),
      },
      store,
    );
  }

  async getTarget(controllerId: string): Promise<TargetView | undefined> {
    const record = await this.#store.getTarget(controllerId);
    return record && targetViewOfRecord(record);
  }

  async requireTarget(controllerId: string): Promise<TargetRecord> {
    const record = await this.#store.getTarget(controllerId);
    if (!record) throw new OtaflowError('TARGET_NOT_FOUND', `target ${controllerId} not found`);
    return record;
  }

  async listTargets(query?: PageQuery): Promise<Page<TargetView>> {
    const page = await this.#store.listTargets(query);
    return { total: page.total, items: page.items.map(targetViewOfRecord) };
  }

  /** hawkBit's group assignment by filter or by controller ids (see `UpdateStore.setTargetGroup`). */
  setTargetGroup(group: string | undefined, selection: TargetSelection): Promise<number> {
    return this.#store.setTargetGroup(group, selection);
  }

  listTargetGroups(): Promise<string[]> {
    return this.#store.listTargetGroups();
  }

  async updateTarget(controllerId: string, patch: TargetPatch): Promise<TargetView> {
    return this.#withTarget(controllerId, async () => {
      const record = await this.requireTarget(controllerId);
      const next: TargetRecord = { ...record, version: record.version + 1 };
      let changed = false;
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        const fields = next as unknown as Record<string, unknown>;
        if (value === null) {
          if (key in fields) changed = true;
          delete fields[key];
          continue;
        }
        if (fields[key] !== value) changed = true;
        fields[key] = value;
      }
      // A patch that changes nothing is not an update: no write, no TARGET_UPDATED.
      if (!changed) return targetViewOfRecord(record);
      return this.#change(async (store) => {
        await store.putTarget(next, record.version);
        const view = targetViewOfRecord(next);
        this.#emitTarget('TARGET_UPDATED', view, store);
        return view;
      });
    });
  }

  async deleteTarget(controllerId: string): Promise<void> {
    await this.#withTarget(controllerId, async () => {
      const record = await this.requireTarget(controllerId);
      return this.#change(async (store) => {
        await store.deleteTarget(controllerId);
        this.#emit(
          {
            type: 'TARGET_DELETED',
            controllerId,
            updateStatus: 'UNKNOWN',
            timestamp: this.#clock(),
          },
          store,
        );
        return record;
      });
    });
  }

  /**
   * A device made contact (a DDI poll, an MQTT feature announcement, a platform notification).
   * An unknown device is created when `autoRegister` is set, as hawkBit does for polling devices;
   * the first contact moves UNKNOWN to REGISTERED.
   */
  async contact(
    controllerId: string,
    options: {
      autoRegister?: boolean;
      channel?: TargetChannel;
      name?: string;
      address?: string;
    } = {},
  ): Promise<TargetView> {
    checkControllerId(controllerId);
    return this.#withTarget(controllerId, async () => {
      const found = await this.#store.getTarget(controllerId);
      let created: TargetRecord | undefined;
      if (!found) {
        if (!options.autoRegister)
          throw new OtaflowError('TARGET_NOT_FOUND', `target ${controllerId} not found`);
        const input: CreateTargetInput = { controllerId };
        if (options.channel) input.channel = options.channel;
        if (options.name) input.name = options.name;
        created = this.#newTarget(input);
      }
      const record = found ?? (created as TargetRecord);
      const before = targetStatusOfState(record.state.value);
      const contacted: TargetEvent = { type: 'target.contacted', at: this.#clock() };
      const state = stepPersistedTarget(record.state, contacted);
      const next: TargetRecord = { ...record, version: record.version + 1, state };
      if (options.channel && record.channel !== options.channel) next.channel = options.channel;
      if (options.address && record.address !== options.address) next.address = options.address;
      const moved = targetStatusOfState(state.value) !== before;
      const write = async (store: UpdateStore) => {
        if (created) {
          await store.putTarget(created, -1);
          this.#observe('target', controllerId, undefined, created.state);
          this.#emitTarget('TARGET_CREATED', targetViewOfRecord(created), store);
        }
        await store.putTarget(next, record.version);
        if (moved) this.#observe('target', controllerId, contacted, next.state);
        const view = targetViewOfRecord(next);
        if (created || moved) this.#emitTarget('TARGET_UPDATED', view, store);
        return view;
      };
      // A plain poll emits nothing and stays one write; only a change with events needs a unit.
      return created || moved ? this.#change(write) : write(this.#store);
    });
  }

  /** DDI configData: merge, replace or remove the device's attributes. */
  async updateAttributes(
    controllerId: string,
    attributes: Record<string, string>,
    mode: AttributeUpdateMode = 'merge',
  ): Promise<TargetView> {
    return this.#withTarget(controllerId, async () => {
      const record = await this.requireTarget(controllerId);
      let next: Record<string, string>;
      if (mode === 'replace') next = { ...attributes };
      else if (mode === 'remove') {
        next = { ...record.attributes };
        for (const key of Object.keys(attributes)) delete next[key];
      } else next = { ...record.attributes, ...attributes };
      const count = Object.keys(next).length;
      if (count > MAX_ATTRIBUTES_PER_TARGET && count > Object.keys(record.attributes).length)
        throw new OtaflowError(
          'QUOTA_EXCEEDED',
          `Quota exceeded: target ${controllerId} may have at most ${MAX_ATTRIBUTES_PER_TARGET} attributes (${count} requested)`,
          { kind: 'attributesPerTarget', limit: MAX_ATTRIBUTES_PER_TARGET, requested: count },
        );
      const updated: TargetRecord = {
        ...record,
        attributes: next,
        requestAttributes: false,
        version: record.version + 1,
      };
      await this.#store.putTarget(updated, record.version);
      return targetViewOfRecord(updated);
    });
  }

  /**
   * Turns auto-confirm on or off. Turning it on also confirms every action that waits for
   * confirmation, as hawkBit does.
   */
  /**
   * Deletes actions and their status history, all or none: every one must exist and have ended
   * in one of `deletable` (hawkBit's tenant default: CANCELED, ERROR, FINISHED), so that nothing
   * a device still works on vanishes under it.
   */
  async deleteActions(
    actionIds: readonly number[],
    deletable: readonly string[] = DELETABLE_STATUSES,
  ): Promise<number> {
    const records: ActionRecord[] = [];
    for (const id of new Set(actionIds)) {
      const record = await this.#store.getAction(id);
      if (!record) throw new OtaflowError('ACTION_NOT_FOUND', `action ${id} not found`);
      records.push(record);
    }
    return this.#withTargets(
      records.map((r) => r.controllerId),
      () =>
        this.#unit(this.#store, async (tx) => {
          for (const r of records) {
            const current = await tx.getAction(r.id);
            const status = String(current?.state.context.status);
            if (!current || !deletable.includes(status))
              throw new OtaflowError(
                'ACTION_NOT_DELETABLE',
                `Status of action with id ${r.id} is not in allowed values for deletion: [${deletable.join(', ')}]`,
              );
          }
          for (const r of records) await tx.deleteAction(r.id);
          return records.length;
        }),
    );
  }

  /**
   * hawkBit's switch to forced: a soft or download-only action becomes forced (the device sees
   * it at its next poll); a forced or time-forced one stays as it is.
   */
  async forceAction(actionId: number): Promise<ActionView> {
    const found = await this.#store.getAction(actionId);
    if (!found) throw new OtaflowError('ACTION_NOT_FOUND', `action ${actionId} not found`);
    return this.#withTarget(found.controllerId, async () => {
      const record = await this.#store.getAction(actionId);
      if (!record) throw new OtaflowError('ACTION_NOT_FOUND', `action ${actionId} not found`);
      const context = record.state.context;
      if (context.type === 'forced' || context.type === 'timeforced')
        return actionViewOfRecord(record);
      const next: ActionRecord = {
        ...record,
        version: record.version + 1,
        state: {
          ...record.state,
          context: { ...context, type: 'forced', lastModifiedAt: this.#clock() },
        },
      };
      return this.#change(async (store) => {
        await store.putAction(next, record.version);
        const view = actionViewOfRecord(next);
        this.#observe('action', actionId, undefined, next.state);
        this.#emitAction('ACTION_UPDATED', view, store);
        return view;
      });
    });
  }

  async setAutoConfirm(
    controllerId: string,
    options: { active: boolean; initiator?: string; remark?: string },
  ): Promise<TargetView> {
    const view = await this.#withTarget(controllerId, async () => {
      const record = await this.requireTarget(controllerId);
      const next: TargetRecord = { ...record, version: record.version + 1 };
      if (options.active) {
        const auto: AutoConfirm = { active: true, activatedAt: this.#clock() };
        if (options.initiator !== undefined) auto.initiator = options.initiator;
        if (options.remark !== undefined) auto.remark = options.remark;
        next.autoConfirm = auto;
      } else {
        delete next.autoConfirm;
      }
      await this.#store.putTarget(next, record.version);
      return targetViewOfRecord(next);
    });
    if (options.active) {
      for (const action of await this.listActions(controllerId)) {
        if (action.status === 'WAIT_FOR_CONFIRMATION') {
          await this.apply(action.id, {
            type: 'action.confirmed',
            at: this.#clock(),
            messages: [autoConfirmMessage(view.autoConfirm)],
          });
        }
      }
    }
    return view;
  }

  // ---------------------------------------------------------------- catalogue

  async createSoftwareModule(input: CreateSoftwareModuleInput): Promise<SoftwareModule> {
    const now = this.#clock();
    const module: SoftwareModule = {
      id: await this.#store.nextId('softwareModule'),
      type: input.type,
      name: input.name,
      version: input.version,
      encrypted: input.encrypted ?? false,
      metadata: input.metadata ?? [],
      artifacts: [],
      createdAt: now,
      lastModifiedAt: now,
      revision: 0,
    };
    if (input.vendor !== undefined) module.vendor = input.vendor;
    if (input.description !== undefined) module.description = input.description;
    await this.#store.putSoftwareModule(module, -1);
    return module;
  }

  /** The module, or undefined: for callers that answer "not found" in their own words. */
  /**
   * A collection's records (tags, types, metadata, target filters, rollouts...), straight from
   * the store: they carry no state machine, so no domain rule stands between.
   */
  collection<T extends CollectionRecord>(collection: Collection<T>): CollectionStore<T> {
    return this.#store.collection(collection);
  }

  getSoftwareModule(id: number): Promise<SoftwareModule | undefined> {
    return this.#store.getSoftwareModule(id);
  }

  async requireSoftwareModule(id: number): Promise<SoftwareModule> {
    const module = await this.#store.getSoftwareModule(id);
    if (!module)
      throw new OtaflowError('SOFTWARE_MODULE_NOT_FOUND', `software module ${id} not found`);
    return module;
  }

  listSoftwareModules(query?: PageQuery): Promise<Page<SoftwareModule>> {
    return this.#store.listSoftwareModules(query);
  }

  /**
   * Rewrites a module from a fresh read: `change` returns the next module (its revision is set
   * here) or undefined to write nothing. One at a time per module in this process; a write that
   * another process beat is redone from a new read, so no concurrent change is lost.
   */
  #changeModule<T>(
    id: number,
    change: (module: SoftwareModule) => { next: SoftwareModule | undefined; result: T },
  ): Promise<T> {
    return this.#withCatalogue(`module\u0000${id}`, async () => {
      const module = await this.requireSoftwareModule(id);
      const { next, result } = change(module);
      if (next)
        await this.#store.putSoftwareModule(
          { ...next, revision: module.revision + 1 },
          module.revision,
        );
      return result;
    });
  }

  /** hawkBit's PUT of a module: its description and vendor change; name, version and type stay. */
  updateSoftwareModule(
    id: number,
    patch: { description?: string; vendor?: string },
  ): Promise<SoftwareModule> {
    return this.#changeModule(id, (module) => {
      const next: SoftwareModule = { ...module, lastModifiedAt: this.#clock() };
      if (patch.description !== undefined) next.description = patch.description;
      if (patch.vendor !== undefined) next.vendor = patch.vendor;
      return { next, result: { ...next, revision: module.revision + 1 } };
    });
  }

  /**
   * hawkBit's PUT of a distribution set: name, version, description, required migration step.
   * A name + version another set carries is refused with `CONFLICT`.
   */
  updateDistributionSet(
    id: number,
    patch: {
      name?: string;
      version?: string;
      description?: string;
      requiredMigrationStep?: boolean;
    },
  ): Promise<DistributionSet> {
    return this.#withCatalogue(`set\u0000${id}`, async () => {
      const set = await this.requireDistributionSet(id);
      const next: DistributionSet = {
        ...set,
        revision: set.revision + 1,
        lastModifiedAt: this.#clock(),
      };
      if (patch.name !== undefined) next.name = patch.name;
      if (patch.version !== undefined) next.version = patch.version;
      if (patch.description !== undefined) next.description = patch.description;
      if (patch.requiredMigrationStep !== undefined) {
        // What devices were given does not change under them (hawkBit's lock).
        if (set.locked && patch.requiredMigrationStep !== set.requiredMigrationStep)
          throw new OtaflowError('LOCKED', `distribution set ${id} is locked`);
        next.requiredMigrationStep = patch.requiredMigrationStep;
      }
      if (next.name !== set.name || next.version !== set.version) {
        const other = await this.#store.findDistributionSet(next.name, next.version);
        if (other && other.id !== id)
          throw new OtaflowError(
            'CONFLICT',
            `distribution set ${next.name}:${next.version} exists`,
          );
      }
      await this.#store.putDistributionSet(next, set.revision);
      return next;
    });
  }

  /** As `#changeModule`, for a distribution set. */
  #changeSet(
    id: number,
    change: (set: DistributionSet) => DistributionSet | Promise<DistributionSet>,
  ): Promise<DistributionSet> {
    return this.#withCatalogue(`set\u0000${id}`, async () => {
      const set = await this.requireDistributionSet(id);
      const next = { ...(await change(set)), revision: set.revision + 1 };
      if (next.lastModifiedAt === set.lastModifiedAt) next.lastModifiedAt = this.#clock();
      await this.#store.putDistributionSet(next, set.revision);
      return next;
    });
  }

  /**
   * A set's modules, replaced: refused while it is locked (`LOCKED`) or deleted (`DELETED`), and
   * for a module that is gone or deleted. Type rules are the caller's (they live with the types).
   */
  setModulesOfDistributionSet(id: number, moduleIds: readonly number[]): Promise<DistributionSet> {
    return this.#changeSet(id, async (set) => {
      if (set.deleted) throw new OtaflowError('DELETED', `distribution set ${id} is deleted`);
      if (set.locked)
        throw new OtaflowError(
          'LOCKED',
          `distribution set ${id} is locked: its modules cannot change`,
        );
      for (const moduleId of moduleIds) {
        const module = await this.requireSoftwareModule(moduleId);
        if (module.deleted)
          throw new OtaflowError('DELETED', `software module ${moduleId} is deleted`);
      }
      return { ...set, modules: [...new Set(moduleIds)] };
    });
  }

  /**
   * Locks a set (its modules and theirs artifacts stop changing) or unlocks it; hawkBit locks a
   * set when it is first assigned. Locking locks its modules too.
   */
  async lockDistributionSet(id: number, locked: boolean): Promise<DistributionSet> {
    const next = await this.#changeSet(id, (set) => {
      if (set.deleted) throw new OtaflowError('DELETED', `distribution set ${id} is deleted`);
      return { ...set, locked };
    });
    if (locked)
      for (const moduleId of next.modules)
        await this.#changeModule(moduleId, (module) => ({
          next: module.locked ? undefined : { ...module, locked: true },
          result: undefined,
        }));
    return next;
  }

  /** hawkBit's invalidation: the set is never assigned again; what used it is the caller's. */
  invalidateDistributionSet(id: number): Promise<DistributionSet> {
    return this.#changeSet(id, (set) => {
      if (set.deleted) throw new OtaflowError('DELETED', `distribution set ${id} is deleted`);
      return { ...set, valid: false };
    });
  }

  /**
   * Deletes a set: softly (kept, marked deleted, never assigned again) while anything refers to
   * it (`soft`: the caller's answer for rollouts and filters, or-ed with its actions here), else
   * for good.
   */
  async deleteDistributionSet(
    id: number,
    options: { soft?: boolean } = {},
  ): Promise<'soft' | 'hard'> {
    await this.requireDistributionSet(id);
    const used = await this.#store.listActions({
      filter: { kind: 'cmp', field: 'distributionSetId', op: '==', values: [String(id)] },
      limit: 0,
    });
    if (options.soft || used.total > 0) {
      await this.#changeSet(id, (set) => ({ ...set, deleted: true }));
      return 'soft';
    }
    await this.#withCatalogue(`set\u0000${id}`, () => this.#store.deleteDistributionSet(id));
    return 'hard';
  }

  /**
   * Deletes a module: softly while a set uses it (hawkBit), else for good; answers which, so
   * that the caller removes the artifacts' bytes of a hard delete.
   */
  async deleteSoftwareModule(id: number): Promise<'soft' | 'hard'> {
    await this.requireSoftwareModule(id);
    const sets = await this.#store.listDistributionSets();
    if (sets.items.some((s) => s.modules.includes(id))) {
      await this.#changeModule(id, (module) => ({
        next: { ...module, deleted: true },
        result: undefined,
      }));
      return 'soft';
    }
    await this.#withCatalogue(`module\u0000${id}`, () => this.#store.deleteSoftwareModule(id));
    return 'hard';
  }

  async #withCatalogue<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.#catalogueLock.run(key, () => retryOnConflict(work));
  }

  /** Records an artifact's metadata; a file of the same name is replaced. */
  async addArtifact(
    moduleId: number,
    artifact: Omit<Artifact, 'id' | 'createdAt'>,
  ): Promise<Artifact> {
    await this.requireSoftwareModule(moduleId);
    const created: Artifact = {
      ...artifact,
      id: await this.#store.nextId('artifact'),
      createdAt: this.#clock(),
    };
    return this.#changeModule(moduleId, (module) => {
      const artifacts = module.artifacts.filter((a) => a.filename !== artifact.filename);
      artifacts.push(created);
      return {
        next: { ...module, artifacts, lastModifiedAt: created.createdAt },
        result: created,
      };
    });
  }

  async deleteArtifact(moduleId: number, artifactId: number): Promise<boolean> {
    return this.#changeModule(moduleId, (module) => {
      const artifacts = module.artifacts.filter((a) => a.id !== artifactId);
      if (artifacts.length === module.artifacts.length) return { next: undefined, result: false };
      return { next: { ...module, artifacts, lastModifiedAt: this.#clock() }, result: true };
    });
  }

  async createDistributionSet(input: CreateDistributionSetInput): Promise<DistributionSet> {
    for (const id of input.modules) await this.requireSoftwareModule(id);
    const now = this.#clock();
    const set: DistributionSet = {
      id: await this.#store.nextId('distributionSet'),
      name: input.name,
      version: input.version,
      type: input.type ?? 'os_app',
      requiredMigrationStep: input.requiredMigrationStep ?? false,
      modules: [...input.modules],
      createdAt: now,
      lastModifiedAt: now,
      revision: 0,
    };
    if (input.description !== undefined) set.description = input.description;
    await this.#store.putDistributionSet(set, -1);
    return set;
  }

  /** The set, or undefined: for callers that answer "not found" in their own words. */
  getDistributionSet(id: number): Promise<DistributionSet | undefined> {
    return this.#store.getDistributionSet(id);
  }

  async requireDistributionSet(id: number): Promise<DistributionSet> {
    const set = await this.#store.getDistributionSet(id);
    if (!set)
      throw new OtaflowError('DISTRIBUTION_SET_NOT_FOUND', `distribution set ${id} not found`);
    return set;
  }

  listDistributionSets(query?: PageQuery): Promise<Page<DistributionSet>> {
    return this.#store.listDistributionSets(query);
  }

  /** A distribution set by name and version (DDI's installedBase names sets that way). */
  findSoftwareModule(
    type: string,
    name: string,
    version: string,
  ): Promise<SoftwareModule | undefined> {
    return this.#store.findSoftwareModule(type, name, version);
  }

  findDistributionSet(name: string, version: string): Promise<DistributionSet | undefined> {
    return this.#store.findDistributionSet(name, version);
  }

  /** The set's modules, in the set's order. */
  async modulesOf(set: DistributionSet): Promise<SoftwareModule[]> {
    const modules: SoftwareModule[] = [];
    for (const id of set.modules) modules.push(await this.requireSoftwareModule(id));
    return modules;
  }

  // ---------------------------------------------------------------- actions

  async getAction(id: number): Promise<StoredActionView | undefined> {
    const record = await this.#store.getAction(id);
    return record && actionViewOfRecord(record);
  }

  async getActionHistory(id: number): Promise<StatusEntry[] | undefined> {
    const record = await this.#store.getAction(id);
    return record && actionHistoryOfRecord(record);
  }

  /**
   * One page of actions, filtered and sorted in the store (`ACTION_LIST_FIELDS`); with
   * `controllerId`, only that target's.
   */
  async pageActions(query?: PageQuery, controllerId?: string): Promise<Page<ActionView>> {
    const page = await this.#store.listActions(query, controllerId);
    return { total: page.total, items: page.items.map(actionViewOfRecord) };
  }

  async listActions(controllerId: string): Promise<ActionView[]> {
    const records = await this.#store.listActionsOfTarget(controllerId);
    return records.map(actionViewOfRecord).sort((a, b) => a.id - b.id);
  }

  /** What the device should be shown next (see `selectNextAction`). */
  async nextActionFor(controllerId: string): Promise<NextAction | undefined> {
    return selectNextAction(await this.listActions(controllerId));
  }

  async findActionByRef(key: string, value: string): Promise<StoredActionView | undefined> {
    const record = await this.#store.findActionByRef(key, value);
    return record && actionViewOfRecord(record);
  }

  /**
   * The id and target of the action a protocol reference names, read without building a view:
   * what an adapter needs to apply a report.
   */
  async findActionIdByRef(key: string, value: string): Promise<ActionRefMatch | undefined> {
    const record = await this.#store.findActionByRef(key, value);
    return (
      record && { id: record.id, controllerId: record.controllerId, refs: record.refs ?? NO_REFS }
    );
  }

  /** Remembers a protocol reference (a correlation id, an operation id) for matching reports. */
  /**
   * The device says what it runs now, after its restart (DDI `PUT installedBase`, SoftwareUpdatable
   * `installedDependencies`): the newest finished action of the target whose set `runs` accepts
   * gets `INSTALLED_REPORT_REF` (the time), once. Rollouts that ask for it count only such
   * actions as successful. Answers the action marked, if any.
   */
  async reportInstalled(
    controllerId: string,
    runs: (set: DistributionSet, modules: SoftwareModule[]) => boolean,
  ): Promise<number | undefined> {
    const finished = (await this.#store.listActionsOfTarget(controllerId))
      .filter((a) => a.state.context.status === 'FINISHED')
      .sort((a, b) => b.id - a.id);
    const newest = finished[0];
    if (!newest || newest.refs?.[INSTALLED_REPORT_REF] !== undefined) return undefined;
    const set = await this.getDistributionSet(Number(newest.state.context.distributionSetId));
    if (!set || !runs(set, await this.modulesOf(set))) return undefined;
    await this.setActionRef(newest.id, INSTALLED_REPORT_REF, String(this.#clock()));
    return newest.id;
  }

  async setActionRef(actionId: number, key: string, value: string): Promise<void> {
    const found = await this.#store.getAction(actionId);
    if (!found) throw new OtaflowError('ACTION_NOT_FOUND', `action ${actionId} not found`);
    await this.#withTarget(found.controllerId, async () => {
      const record = await this.#store.getAction(actionId);
      if (!record) throw new OtaflowError('ACTION_NOT_FOUND', `action ${actionId} not found`);
      await this.#store.putAction(
        { ...record, version: record.version + 1, refs: { ...record.refs, [key]: value } },
        record.version,
      );
    });
  }

  /**
   * Assigns a distribution set to targets. Per target, with multi-assignment off as in hawkBit:
   * the same set still active -> nothing new; otherwise earlier active actions go to CANCELING and a
   * new action is created (WAIT_FOR_CONFIRMATION when consent is required and auto-confirm is off).
   * Emits ACTION_CREATED and TARGET_UPDATED per target and one UPDATE_ASSIGNMENT.
   */
  async assign(
    distributionSetId: number,
    targets: readonly AssignTargetInput[],
  ): Promise<AssignmentResult> {
    const set = assignableSet(await this.requireDistributionSet(distributionSetId));
    const modules = await this.modulesOf(set);
    const created: ActionView[] = [];
    const assignedTargets: AssignedTarget[] = [];
    let already = 0;
    // Every target must exist before anything is written: a request naming an unknown one
    // assigns nothing. Checked a batch at a time, concurrently (a database pipelines the reads).
    for (let i = 0; i < targets.length; i += ASSIGN_BATCH) {
      await Promise.all(
        targets.slice(i, i + ASSIGN_BATCH).map((input) => this.requireTarget(input.controllerId)),
      );
      await yieldToEventLoop();
    }
    const outcomes: Awaited<ReturnType<UpdateService['assignBatch']>> = [];
    for (let i = 0; i < targets.length; i += ASSIGN_BATCH) {
      outcomes.push(...(await this.assignBatch(set, targets.slice(i, i + ASSIGN_BATCH))));
      await yieldToEventLoop();
    }
    for (const [i, input] of targets.entries()) {
      const outcome = outcomes[i];
      if (!outcome) {
        already++;
        continue;
      }
      created.push(outcome.action);
      assignedTargets.push({
        actionId: outcome.action.id,
        controllerId: input.controllerId,
        securityToken: outcome.securityToken,
        type: outcome.action.type,
        confirmation: confirmationStateOf(outcome.action),
      });
    }
    // hawkBit locks a set when it is first assigned: what devices got no longer changes.
    if (created.length > 0 && !set.locked) await this.lockDistributionSet(set.id, true);
    // With an outbox each batch's unit wrote its own UPDATE_ASSIGNMENT (assignBatch).
    if (assignedTargets.length > 0 && this.#channels.length === 0) {
      this.#emit({
        type: 'UPDATE_ASSIGNMENT',
        distributionSetId,
        softwareModules: modules.map(toAssignedModule),
        targets: assignedTargets,
        timestamp: this.#clock(),
      });
    }
    return {
      assigned: created.length,
      alreadyAssigned: already,
      total: targets.length,
      actions: created,
    };
  }

  /**
   * Assigns `set` to a batch of targets in one unit: for each, the cancels of its earlier actions,
   * the new action and its new status, all committed together (a database commits once for the
   * batch, not once per target). When another writer got in the way (CONFLICT), the batch is
   * done again one unit per target, each retried as a single target's writes always are.
   * Exposed for rollouts, which assign their groups' targets in batches.
   */
  async assignBatch(
    set: DistributionSet,
    batch: readonly AssignTargetInput[],
  ): Promise<({ action: ActionView; securityToken: string } | undefined)[]> {
    // With an outbox, the UPDATE_ASSIGNMENT of what a unit assigned is written in that unit;
    // its modules are read before, since a unit reads through its own `tx` only.
    const modules = this.#channels.length > 0 ? await this.modulesOf(set) : undefined;
    const assigned = (
      out: ({ action: ActionView; securityToken: string } | undefined)[],
      tx: UpdateStore,
    ) => {
      const targets: AssignedTarget[] = [];
      for (const o of out)
        if (o)
          targets.push({
            actionId: o.action.id,
            controllerId: o.action.controllerId,
            securityToken: o.securityToken,
            type: o.action.type,
            confirmation: confirmationStateOf(o.action),
          });
      if (modules && targets.length > 0)
        this.#emit(
          {
            type: 'UPDATE_ASSIGNMENT',
            distributionSetId: set.id,
            softwareModules: modules.map(toAssignedModule),
            targets,
            timestamp: this.#clock(),
          },
          tx,
        );
      return out;
    };
    const one = (input: AssignTargetInput) =>
      this.#withTarget(input.controllerId, () =>
        this.#unit(this.#store, async (tx) =>
          assigned([await this.#assignOne(set, input, tx)], tx),
        ),
      );
    if (batch.length === 1) return one(batch[0]!);
    try {
      return await this.#withTargets(
        batch.map((t) => t.controllerId),
        () =>
          this.#unit(this.#store, async (tx) => {
            const out = await perTarget(
              batch,
              (input) => input.controllerId,
              (input) => this.#assignOne(set, input, tx),
            );
            return assigned(out, tx);
          }),
      );
    } catch (error) {
      if (!(error instanceof OtaflowError && error.code === 'CONFLICT')) throw error;
      const out: ({ action: ActionView; securityToken: string } | undefined)[] = [];
      for (const input of batch) out.push(...(await one(input)));
      return out;
    }
  }

  /**
   * Starts scheduled actions (a rollout group's): per action, the target's other active actions
   * are superseded as an assignment supersedes them, then it runs (or waits for confirmation) and
   * devices see it. A batch commits as one unit under its targets' locks, a few batches at once
   * (disjoint targets, so they never wait on each other); an action that is no longer SCHEDULED
   * is left as it is, so a repeated start changes nothing. Emits one UPDATE_ASSIGNMENT per
   * distribution set for what started.
   */
  async startScheduled(actionIds: readonly number[]): Promise<ActionView[]> {
    const batches: number[][] = [];
    for (let i = 0; i < actionIds.length; i += ASSIGN_BATCH)
      batches.push(actionIds.slice(i, i + ASSIGN_BATCH));
    const started: ActionView[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(START_CONCURRENCY, batches.length) }, async () => {
        for (let b = next++; b < batches.length; b = next++) {
          started.push(...(await this.#startBatch(batches[b] ?? [])));
          await yieldToEventLoop();
        }
      }),
    );
    started.sort((a, b) => a.id - b.id);
    // With an outbox each batch's unit wrote its own UPDATE_ASSIGNMENT (#startBatch).
    if (this.#channels.length === 0) await this.#emitAssignments(started);
    return started;
  }

  async #startBatch(ids: readonly number[]): Promise<ActionView[]> {
    const records = (await Promise.all(ids.map((id) => this.#store.getAction(id)))).filter(
      (r): r is ActionRecord => r?.state.context.status === 'SCHEDULED',
    );
    const startOne = async (record: ActionRecord, tx: UpdateStore) => {
      // The target's actions, this one among them, read once under the lock.
      const mine = await tx.listActionsOfTarget(record.controllerId);
      const current = mine.find((a) => a.id === record.id);
      if (current?.state.context.status !== 'SCHEDULED') return undefined;
      const now = this.#clock();
      const others = mine.filter((a) => a.id !== record.id).map(actionViewOfRecord);
      for (const id of planAssignment(others, -1).cancel) {
        await this.#applyLocked(
          id,
          {
            type: 'cancel.requested',
            at: now,
            messages: [`superseded by rollout action ${record.id}`],
          },
          undefined,
          undefined,
          tx,
        );
      }
      const result = await this.#applyLocked(
        record.id,
        { type: 'action.start', at: now },
        undefined,
        current,
        tx,
      );
      return result.ok ? result.action : undefined;
    };
    // With an outbox, the sets and modules of the UPDATE_ASSIGNMENT are read before the unit.
    const sources = this.#channels.length > 0 ? await this.#assignmentSources(records) : undefined;
    const startAll = (batch: readonly ActionRecord[]) =>
      this.#withTargets(
        batch.map((r) => r.controllerId),
        () =>
          this.#unit(this.#store, async (tx) => {
            const out = (
              await perTarget(
                batch,
                (record) => record.controllerId,
                (record) => startOne(record, tx),
              )
            ).filter((view): view is ActionView => view !== undefined);
            if (sources) await this.#emitAssignments(out, tx, sources);
            return out;
          }),
      );
    try {
      return await startAll(records);
    } catch (error) {
      if (!(error instanceof OtaflowError && error.code === 'CONFLICT')) throw error;
      // A device report got in the way: one unit per action, each retried as a report's are.
      const out: ActionView[] = [];
      for (const record of records) out.push(...(await startAll([record])));
      return out;
    }
  }

  #actionInput(
    set: DistributionSet,
    input: AssignTargetInput,
    id: number,
    now: number,
  ): ActionInput {
    const actionInput: ActionInput = {
      id,
      controllerId: input.controllerId,
      distributionSetId: set.id,
      distributionSetName: set.name,
      distributionSetVersion: set.version,
      type: input.type ?? 'forced',
      weight: input.weight ?? DEFAULT_WEIGHT,
      confirmationRequired: input.confirmationRequired ?? false,
      createdAt: now,
      maxHistory: this.#maxHistory,
    };
    if (input.forcedTime !== undefined) actionInput.forcedTime = input.forcedTime;
    if (input.maintenanceWindow !== undefined)
      actionInput.maintenanceWindow = input.maintenanceWindow;
    if (input.scheduled) actionInput.scheduled = true;
    if (input.rolloutId !== undefined) actionInput.rolloutId = input.rolloutId;
    if (input.rolloutGroupId !== undefined) actionInput.rolloutGroupId = input.rolloutGroupId;
    if (input.weight === undefined) actionInput.weightDefaulted = true;
    return actionInput;
  }

  /**
   * Writes actions that wait as SCHEDULED (a rollout group's, before it starts) in one unit and
   * as few round trips as the store allows: one read for which targets exist, one for the ids,
   * one write for the actions. A scheduled action supersedes nothing and leaves its target as it
   * is, so nothing else is read or written per target. Targets that no longer exist are left out.
   */
  async scheduleBatch(
    set: DistributionSet,
    inputs: readonly AssignTargetInput[],
  ): Promise<ActionView[]> {
    if (inputs.length === 0) return [];
    assignableSet(set);
    const ids = [...new Set(inputs.map((i) => i.controllerId))];
    const present = new Set((await getTargetsOf(this.#store, ids)).map((t) => t.controllerId));
    const todo = inputs.filter((i) => present.has(i.controllerId));
    const now = this.#clock();
    const records: ActionRecord[] = [];
    const actionIds = await nextIdsOf(this.#store, 'action', todo.length);
    todo.forEach((input, k) => {
      const actionInput = this.#actionInput(set, { ...input, scheduled: true }, actionIds[k]!, now);
      records.push({
        id: actionInput.id,
        controllerId: input.controllerId,
        version: 0,
        state: newPersistedAction(actionInput),
      });
    });
    const views = await this.#unit(this.#store, async (tx) => {
      await putNewActionsOf(tx, records);
      return records.map((record) => {
        this.#observe('action', record.id, undefined, record.state);
        const view = actionViewOfRecord(record);
        this.#emitAction('ACTION_CREATED', view, tx);
        return view;
      });
    });
    if (records.length > 0 && !set.locked) await this.lockDistributionSet(set.id, true);
    return views;
  }

  /** The modules of each distribution set of `records`, by set id (sets that are gone left out). */
  async #assignmentSources(
    records: readonly ActionRecord[],
  ): Promise<Map<number, SoftwareModule[]>> {
    const sources = new Map<number, SoftwareModule[]>();
    for (const r of records) {
      const id = Number(r.state.context.distributionSetId);
      if (sources.has(id)) continue;
      const set = await this.getDistributionSet(id);
      if (set) sources.set(id, await this.modulesOf(set));
    }
    return sources;
  }

  /**
   * One UPDATE_ASSIGNMENT per distribution set for actions that devices can now see. Inside a
   * unit, `store` is its `tx` and `sources` the modules read before it.
   */
  async #emitAssignments(
    actions: readonly ActionView[],
    store: UpdateStore = this.#store,
    sources?: Map<number, SoftwareModule[]>,
  ): Promise<void> {
    if (!this.#listened() || actions.length === 0) return;
    const bySet = new Map<number, ActionView[]>();
    for (const a of actions) {
      const list = bySet.get(a.distributionSetId);
      if (list) list.push(a);
      else bySet.set(a.distributionSetId, [a]);
    }
    for (const [distributionSetId, views] of bySet) {
      let modules = sources?.get(distributionSetId);
      if (!sources) {
        const set = await this.getDistributionSet(distributionSetId);
        if (set) modules = await this.modulesOf(set);
      }
      if (!modules) continue;
      const targets: AssignedTarget[] = [];
      for (const view of views) {
        const target = await store.getTarget(view.controllerId);
        if (!target) continue;
        targets.push({
          actionId: view.id,
          controllerId: view.controllerId,
          securityToken: target.securityToken,
          type: view.type,
          confirmation: confirmationStateOf(view),
        });
      }
      this.#emit(
        {
          type: 'UPDATE_ASSIGNMENT',
          distributionSetId,
          softwareModules: modules.map(toAssignedModule),
          targets,
          timestamp: this.#clock(),
        },
        store,
      );
    }
  }

  /** Holds every key's lock, taken in one order (sorted) so that two batches never deadlock. */
  async #withTargets<T>(controllerIds: readonly string[], work: () => Promise<T>): Promise<T> {
    const keys = [...new Set(controllerIds)].sort();
    const held: string[] = [];
    try {
      for (const key of keys) {
        const turn = this.#lock.acquire(key);
        if (turn) await turn;
        held.push(key);
      }
      return await work();
    } finally {
      for (const key of held) this.#lock.release(key);
    }
  }

  async #assignOne(
    set: DistributionSet,
    input: AssignTargetInput,
    store: UpdateStore,
  ): Promise<{ action: ActionView; securityToken: string } | undefined> {
    const target = await store.getTarget(input.controllerId);
    if (!target)
      throw new OtaflowError('TARGET_NOT_FOUND', `target ${input.controllerId} not found`);
    const existing = (await store.listActionsOfTarget(input.controllerId)).map(actionViewOfRecord);
    const plan = planAssignment(existing, set.id);
    if (plan.alreadyAssigned) return undefined;
    const now = this.#clock();
    // A scheduled action supersedes nothing yet: what runs now runs on until its group starts.
    for (const id of input.scheduled ? [] : plan.cancel) {
      await this.#applyLocked(
        id,
        {
          type: 'cancel.requested',
          at: now,
          messages: [`superseded by an assignment of distribution set ${set.id}`],
        },
        undefined,
        undefined,
        store,
      );
    }
    const actionInput = this.#actionInput(set, input, await store.nextId('action'), now);
    let state = newPersistedAction(actionInput);
    if (state.context.status === 'WAIT_FOR_CONFIRMATION' && target.autoConfirm?.active) {
      const confirmed = stepPersistedAction(state, {
        type: 'action.confirmed',
        at: now,
        messages: [autoConfirmMessage(target.autoConfirm)],
      });
      if (confirmed.ok) state = confirmed.state;
    }
    const record: ActionRecord = {
      id: actionInput.id,
      controllerId: input.controllerId,
      version: 0,
      state,
    };
    await store.putAction(record, -1);
    this.#observe('action', record.id, undefined, record.state);
    const view = actionViewOfRecord(record);
    this.#emitAction('ACTION_CREATED', view, store);
    if (!input.scheduled)
      await this.#settleTarget(
        input.controllerId,
        { type: 'target.assigned', distributionSetId: set.id, at: now },
        store,
      );
    return { action: view, securityToken: target.securityToken };
  }

  #emitAction(
    type: 'ACTION_CREATED' | 'ACTION_UPDATED',
    view: ActionView,
    store?: UpdateStore,
  ): void {
    if (!this.#listened()) return;
    this.#emit(
      {
        type,
        actionId: view.id,
        actionStatus: view.status,
        lastActionStatusCode:
          view.lastStatusCode === undefined ? 'N/A' : String(view.lastStatusCode),
        actionActive: view.active,
        controllerId: view.controllerId,
        distributionSetId: view.distributionSetId,
        distributionSetName: view.distributionSetName,
        distributionSetVersion: view.distributionSetVersion,
        timestamp: this.#clock(),
      },
      store,
    );
  }

  async #settleTarget(
    controllerId: string,
    event: TargetEvent,
    store: UpdateStore = this.#store,
  ): Promise<TargetUpdateStatus> {
    // The store read directly rather than through requireTarget: one async frame less per settle.
    const record = await store.getTarget(controllerId);
    if (!record) throw new OtaflowError('TARGET_NOT_FOUND', `target ${controllerId} not found`);
    const before = targetStatusOfState(record.state.value);
    const next: TargetRecord = {
      ...record,
      version: record.version + 1,
      state: stepPersistedTarget(record.state, event),
    };
    await store.putTarget(next, record.version);
    this.#observe('target', controllerId, event, next.state);
    const status = targetStatusOfState(next.state.value);
    // The view is built only for a listener (#emitTarget checks again, at no cost, when there is).
    if (status !== before && this.#listened())
      this.#emitTarget('TARGET_UPDATED', targetViewOfRecord(next), store);
    return status;
  }

  /**
   * Applies one protocol-neutral event to an action and settles its target. A closed action or an
   * event its state does not take is refused with a typed result and nothing changes. With
   * `controllerId`, an action of another target is answered ACTION_NOT_FOUND (and nothing
   * changes), so an adapter that knows the reporting device needs no read of its own first.
   */
  async apply(actionId: number, event: ActionEvent, options?: ApplyOptions): Promise<ApplyResult> {
    let record = await this.#store.getAction(actionId);
    if (
      !record ||
      (options?.controllerId !== undefined && record.controllerId !== options.controllerId)
    )
      return actionNotFound(actionId);
    const key = record.controllerId;
    const once = options?.once;
    // The lock is taken and released here rather than through `run(key, closure)`: no promise and
    // no closure when the target is idle, which it nearly always is.
    const turn = this.#lock.acquire(key);
    if (turn) await turn;
    try {
      // The record read to find the target's lock is used once more inside it: a write names the
      // version it read, so a stale record ends in CONFLICT and a refusal is checked against a
      // fresh read; either way the work is redone from the store.
      for (let attempt = 0; ; attempt++) {
        try {
          // The common case, taken here rather than in #applyLocked: one async frame and one await
          // less per report. Anything else (a refusal, a conflicting write) goes there as before.
          // A key the record read before the lock already holds was taken: keys are only added.
          if (record && once !== undefined && record.applied?.includes(once))
            return duplicateReport(record, once);
          const step = record && stepPersistedAction(record.state, event);
          if (
            options?.statusQuota &&
            record &&
            step?.ok &&
            !step.closed &&
            actionHistoryOfRecord(record).length >= this.#maxHistory
          )
            return {
              ok: false,
              code: 'QUOTA_EXCEEDED',
              message: `action ${actionId} holds ${this.#maxHistory} status entries, its quota`,
              action: actionViewOfRecord(record),
            };
          // A closing report writes the action and its target as one unit: #applyLocked.
          // With an outbox, a changed status emits, and its event must be written in a unit.
          if (
            record &&
            step?.ok &&
            !step.closed &&
            !(step.changedStatus && this.#channels.length > 0)
          ) {
            const next = nextActionRecord(record, step.state, once);
            let written = true;
            try {
              await this.#store.putAction(next, record.version);
            } catch (error) {
              if (!(error instanceof OtaflowError && error.code === 'CONFLICT')) throw error;
              written = false;
            }
            if (!written) return await this.#applyLocked(actionId, event, once);
            const done = this.#applied(actionId, event, next, step);
            return 'ok' in done ? done : await done;
          }
          return await this.#applyLocked(actionId, event, once, record);
        } catch (error) {
          if (
            error instanceof OtaflowError &&
            error.code === 'CONFLICT' &&
            attempt < CONFLICT_RETRIES
          ) {
            record = undefined;
            continue;
          }
          throw error;
        }
      }
    } finally {
      this.#lock.release(key);
    }
  }

  async #applyLocked(
    actionId: number,
    event: ActionEvent,
    once: string | undefined,
    known?: ActionRecord,
    store: UpdateStore = this.#store,
  ): Promise<ApplyResult> {
    const record = known ?? (await store.getAction(actionId));
    if (!record) return actionNotFound(actionId);
    if (once !== undefined && record.applied?.includes(once)) return duplicateReport(record, once);
    const result = stepPersistedAction(record.state, event);
    if (!result.ok) {
      if (known && (await store.getAction(actionId))?.version !== known.version)
        return this.#applyLocked(actionId, event, once, undefined, store);
      return {
        ok: false,
        code: result.reason,
        message: result.message,
        action: actionViewOfRecord(record),
      };
    }
    const next = nextActionRecord(record, result.state, once);
    if (result.closed || (result.changedStatus && this.#channels.length > 0)) {
      // The action and its target commit together (inside a unit already, this joins it): a
      // crash or a conflict between the two writes must not leave a closed action whose target
      // still says PENDING.
      try {
        return await this.#unit(store, async (tx) => {
          await tx.putAction(next, record.version);
          return this.#applied(actionId, event, next, result, tx);
        });
      } catch (error) {
        if (known && error instanceof OtaflowError && error.code === 'CONFLICT')
          return this.#applyLocked(actionId, event, once, undefined, store);
        throw error;
      }
    }
    try {
      await store.putAction(next, record.version);
    } catch (error) {
      if (known && error instanceof OtaflowError && error.code === 'CONFLICT')
        return this.#applyLocked(actionId, event, once, undefined, store);
      throw error;
    }
    return this.#applied(actionId, event, next, result, store);
  }

  /**
   * What follows a stored transition: the observer, the view, the domain event and, when the
   * action closed or started, the target. Synchronous when the target is not touched (the common
   * case), so a report that leaves the action open costs no further promise.
   */
  #applied(
    actionId: number,
    event: ActionEvent,
    next: ActionRecord,
    result: Extract<PersistedActionStep, { ok: true }>,
    store: UpdateStore = this.#store,
  ): ApplyResult | Promise<ApplyResult> {
    this.#observe('action', actionId, event, next.state);
    const view = actionViewOfRecord(next);
    if (result.changedStatus) this.#emitAction('ACTION_UPDATED', view, store);
    const at = event.at;
    if (result.closed)
      return this.#settleClosed(actionId, next.controllerId, view, result, at, store);
    if (event.type === 'action.start') {
      return this.#settled(
        next.controllerId,
        { type: 'target.assigned', distributionSetId: view.distributionSetId, at },
        view,
        result,
        store,
      );
    }
    // An event that leaves the action open and is not a start does not touch the target, and an
    // open action keeps its target PENDING (the rule `deriveTargetStatus` states, held by the
    // service property): the status is known without reading the target.
    return { ok: true, action: view, targetStatus: 'PENDING', changed: result.changedStatus };
  }

  async #settleClosed(
    actionId: number,
    controllerId: string,
    view: ActionView,
    result: Extract<PersistedActionStep, { ok: true }>,
    at: number,
    store: UpdateStore,
  ): Promise<ApplyResult> {
    let others = false;
    for (const r of await store.listActionsOfTarget(controllerId)) {
      if (r.id !== actionId && isActiveStateValue(r.state.value)) {
        others = true;
        break;
      }
    }
    const state = view.state;
    let targetEvent: TargetEvent;
    if (state === 'finished') {
      targetEvent = {
        type: 'target.actionSucceeded',
        distributionSetId: view.distributionSetId,
        othersActive: others,
        at,
      };
    } else if (state === 'downloadOnlyDone') {
      targetEvent = { type: 'target.actionDownloaded', othersActive: others, at };
    } else if (state === 'error') {
      targetEvent = { type: 'target.actionFailed', othersActive: others, at };
    } else {
      targetEvent = { type: 'target.actionCanceled', othersActive: others, at };
    }
    const targetStatus = await this.#settleTarget(controllerId, targetEvent, store);
    return { ok: true, action: view, targetStatus, changed: result.changedStatus };
  }

  async #settled(
    controllerId: string,
    targetEvent: TargetEvent,
    view: ActionView,
    result: Extract<PersistedActionStep, { ok: true }>,
    store: UpdateStore,
  ): Promise<ApplyResult> {
    const targetStatus = await this.#settleTarget(controllerId, targetEvent, store);
    return { ok: true, action: view, targetStatus, changed: result.changedStatus };
  }

  /** Asks for a cancel: the action goes to CANCELING and the device is told on its next contact. */
  cancel(actionId: number, messages?: string[]): Promise<ApplyResult> {
    return this.apply(
      actionId,
      withMessages({ type: 'cancel.requested', at: this.#clock() }, messages),
    );
  }

  /** Closes a CANCELING action without the device's word (hawkBit's force quit). */
  forceQuit(actionId: number, messages?: string[]): Promise<ApplyResult> {
    return this.apply(
      actionId,
      withMessages({ type: 'action.forceQuit', at: this.#clock() }, messages),
    );
  }
}

/**
 * The record after a transition. Written out rather than spread: the record's fields are known,
 * and a literal is one allocation of a fixed shape.
 */
function nextActionRecord(
  record: ActionRecord,
  state: PersistedSnapshot,
  once: string | undefined,
): ActionRecord {
  const applied = once === undefined ? record.applied : withAppliedKey(record.applied, once);
  if (applied === undefined) {
    return record.refs === undefined
      ? { id: record.id, controllerId: record.controllerId, version: record.version + 1, state }
      : {
          id: record.id,
          controllerId: record.controllerId,
          version: record.version + 1,
          refs: record.refs,
          state,
        };
  }
  return record.refs === undefined
    ? {
        id: record.id,
        controllerId: record.controllerId,
        version: record.version + 1,
        applied,
        state,
      }
    : {
        id: record.id,
        controllerId: record.controllerId,
        version: record.version + 1,
        refs: record.refs,
        applied,
        state,
      };
}

/** Throws INVALID_INPUT, with zod's issues as details, for an id `ControllerId` refuses. */
function checkControllerId(controllerId: string): void {
  // A valid id is the common case and the regex alone is cheaper than a zod parse per contact.
  if (
    typeof controllerId === 'string' &&
    controllerId.length <= 256 &&
    CONTROLLER_ID_FAST.test(controllerId)
  )
    return;
  const parsed = ControllerId.safeParse(controllerId);
  if (parsed.success) return;
  throw new OtaflowError(
    'INVALID_INPUT',
    `invalid controllerId ${JSON.stringify(controllerId)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
    parsed.error.issues,
  );
}

/** 128 random bits as hex; Web Crypto keeps the core free of Node imports. */
function randomToken(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function withMessages<E extends ActionEvent>(event: E, messages?: string[]): E {
  if (messages && messages.length > 0) event.messages = messages;
  return event;
}

function autoConfirmMessage(auto: AutoConfirm | undefined): string {
  const by = auto?.initiator ? ` by initiator '${auto.initiator}'` : '';
  const remark = auto?.remark ? ` with remark '${auto.remark}'` : '';
  return `Assignment automatically confirmed${by}. Auto confirmation activated${remark}.`;
}

function toAssignedModule(module: SoftwareModule): AssignedModule {
  return {
    moduleId: module.id,
    moduleType: module.type,
    moduleName: module.name,
    moduleVersion: module.version,
    artifacts: module.artifacts.map((a) => ({
      id: a.id,
      filename: a.filename,
      size: a.size,
      hashes: a.hashes,
    })),
    metadata: module.metadata,
  };
}

/** A set that may be assigned: not invalidated, not deleted (hawkBit's refusals). */
function assignableSet(set: DistributionSet): DistributionSet {
  if (set.deleted) throw new OtaflowError('DELETED', `distribution set ${set.id} is deleted`);
  if (set.valid === false)
    throw new OtaflowError(
      'INVALID_DISTRIBUTION_SET',
      `Distribution set ${set.name}:${set.version} is invalid and cannot be assigned`,
    );
  return set;
}

/**
 * Runs `work` for every item of a unit's batch at once when no two items are the same target's:
 * each target's statements still follow one another, but a database connection pipelines those
 * of different targets (one round trip per step for the whole batch instead of one per target
 * and step). Items of one target run in order, one after the other, as they must.
 */
function perTarget<I, O>(
  batch: readonly I[],
  targetOf: (item: I) => string,
  work: (item: I) => Promise<O>,
): Promise<O[]> {
  if (new Set(batch.map(targetOf)).size === batch.length) return settleAll(batch.map(work));
  return batch.reduce<Promise<O[]>>(
    async (done, item) => [...(await done), await work(item)],
    Promise.resolve([]),
  );
}

/**
 * Every result, or the first failure once all have settled: no statement of the batch may still
 * be under way when the unit rolls back and its connection goes back to the pool.
 */
async function settleAll<O>(work: readonly Promise<O>[]): Promise<O[]> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<O>).value);
}

/**
 * Lets I/O in between a big job's batches: over a store that answers from memory, a batch's
 * awaits are microtasks only, and a whole fleet's assignment would hold every device's request
 * until it ended.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
