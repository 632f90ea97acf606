import type { DistributionSet, SoftwareModule } from './catalogue.js';
import { OtaflowError } from './OtaflowError.js';
import type { ActionRecord, TargetRecord } from './records.js';
import type { Page, PageQuery, Sequence, UpdateStore } from './UpdateStore.js';

function page<T>(all: Iterable<T>, query: PageQuery = {}): Page<T> {
  const items = [...all];
  const offset = Math.max(0, query.offset ?? 0);
  const limit = Math.max(0, query.limit ?? items.length);
  return { items: items.slice(offset, offset + limit), total: items.length };
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

/** The in-memory store: one instance per process, nothing at module level. */
export class MemoryUpdateStore implements UpdateStore {
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

  async getTarget(controllerId: string) {
    return this.#targets.get(controllerId);
  }
  async listTargets(query?: PageQuery) {
    return page(this.#targets.values(), query);
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
  async putAction(record: ActionRecord, expectedVersion?: number) {
    const previous = this.#actions.get(record.id);
    checkVersion('action', record.id, previous?.version, expectedVersion);
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
    return page(this.#modules.values(), query);
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
    return page(this.#sets.values(), query);
  }
  async findDistributionSet(name: string, version: string) {
    for (const id of this.#setsByName.get(`${name}\u0000${version}`) ?? []) {
      const set = this.#sets.get(id);
      if (set) return set;
    }
    return undefined;
  }
  async putDistributionSet(set: DistributionSet, expectedRevision?: number) {
    const previous = this.#sets.get(set.id);
    checkVersion('distribution set', set.id, previous?.revision, expectedRevision);
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
}
