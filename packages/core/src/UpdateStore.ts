import type { DistributionSet, SoftwareModule } from './catalogue.js';
import type { ActionRecord, TargetRecord } from './records.js';

export type Sequence = 'action' | 'softwareModule' | 'distributionSet' | 'artifact';

export interface Page<T> {
  items: T[];
  total: number;
}

export interface PageQuery {
  offset?: number;
  limit?: number;
}

/**
 * Where the update state lives. Records are plain JSON; implementations must treat the objects
 * they are given and return as immutable. A write with `expectedVersion` that does not match the
 * stored version throws `OtaflowError('CONFLICT')`, so several processes can share one store; the
 * catalogue's writes do the same with `revision` (their `version` is the software's).
 */
export interface UpdateStore {
  getTarget(controllerId: string): Promise<TargetRecord | undefined>;
  listTargets(query?: PageQuery): Promise<Page<TargetRecord>>;
  putTarget(record: TargetRecord, expectedVersion?: number): Promise<void>;
  deleteTarget(controllerId: string): Promise<boolean>;

  getAction(id: number): Promise<ActionRecord | undefined>;
  listActionsOfTarget(controllerId: string): Promise<ActionRecord[]>;
  putAction(record: ActionRecord, expectedVersion?: number): Promise<void>;
  findActionByRef(key: string, value: string): Promise<ActionRecord | undefined>;

  getSoftwareModule(id: number): Promise<SoftwareModule | undefined>;
  listSoftwareModules(query?: PageQuery): Promise<Page<SoftwareModule>>;
  /** `expectedRevision` as `expectedVersion` elsewhere: -1 for a module that must not exist yet. */
  putSoftwareModule(module: SoftwareModule, expectedRevision?: number): Promise<void>;
  deleteSoftwareModule(id: number): Promise<boolean>;

  getDistributionSet(id: number): Promise<DistributionSet | undefined>;
  listDistributionSets(query?: PageQuery): Promise<Page<DistributionSet>>;
  /** The set with this name and version (the oldest, should several share them), if any. */
  findDistributionSet(name: string, version: string): Promise<DistributionSet | undefined>;
  putDistributionSet(set: DistributionSet, expectedRevision?: number): Promise<void>;
  deleteDistributionSet(id: number): Promise<boolean>;

  nextId(sequence: Sequence): Promise<number>;
}
