import {
  type ActionView,
  type AssignTargetInput,
  amountGroupPercentages,
  type DistributionSet,
  type FilterNode,
  type GroupDefinition,
  type GroupProgress,
  KeyedLock,
  type Logger,
  MAX_ROLLOUT_GROUPS,
  MAX_TARGETS_PER_ROLLOUT_GROUP,
  OtaflowError,
  planRolloutRound,
  ROLLOUT_GROUPS,
  ROLLOUTS,
  type RolloutEvent,
  RolloutGroupConditions,
  type RolloutGroupEvent,
  type RolloutGroupRecord,
  type RolloutRecord,
  type RolloutStatus,
  rolloutGroupStatusAfter,
  rolloutScope,
  rolloutStatusAfter,
  splitTargets,
  type UpdateService,
} from '@otaflow/core';
import { BackendError } from '../BackendError.js';
import { targetListNames } from '../management/fields.js';
import { storeFilter } from '../query.js';
import { runAutoAssignments } from './autoAssign.js';
import { actionsOf, groupCounts } from './groupCounts.js';
import { RolloutLease } from './RolloutLease.js';
import type { RolloutCreate } from './rolloutInput.js';

/** Actions written or started per unit: one database round trip each. */
const BATCH = 500;
/** Ids read per page while a rollout is created or scheduled (each page also counts). */
const READ_PAGE = 10_000;
/** Scheduled actions written per statement. */
const SCHEDULE_BATCH = 2_000;
/** Statuses the engine has work in. */
const ACTIVE: readonly RolloutStatus[] = ['ready', 'starting', 'running', 'stopping', 'deleting'];

export interface RolloutEngineOptions {
  service: UpdateService;
  logger: Logger;
  /** Evaluation interval (hawkBit's scheduler: 2 s). */
  intervalMs?: number;
  /** The tenant's `rollout.approval.enabled`. */
  approvalEnabled?: () => boolean;
  /** The tenant's `user.confirmation.flow.enabled`: rollouts that do not say wait for consent. */
  confirmationFlow?: () => boolean;
  /** Whether a set may be rolled out (complete and valid); the Management API's rule. */
  assignable?: (set: DistributionSet) => Promise<void>;
  /** The targets a set may go to (their types accept it), ANDed with a rollout's filter. */
  compatible?: (set: DistributionSet) => Promise<FilterNode | undefined>;
  now?: () => number;
}

/**
 * Rollouts over an `UpdateService`: creation splits the filter's targets into groups, start
 * writes every group's actions as SCHEDULED, and an evaluation round (on a timer, and soon after
 * an action of a rollout ends) starts groups, trips thresholds and finishes, stops and deletes,
 * on one backend at a time (a lease in the store). All state is in the store: a backend that
 * dies mid-round leaves work another one picks up, and every step is safe to repeat.
 */
export class RolloutEngine {
  readonly #service: UpdateService;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #approvalEnabled: () => boolean;
  readonly #confirmationFlow: () => boolean;
  readonly #assignable: (set: DistributionSet) => Promise<void>;
  readonly #compatible: (set: DistributionSet) => Promise<FilterNode | undefined>;
  readonly #now: () => number;
  readonly #lease: RolloutLease;
  readonly #lock = new KeyedLock();
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #closed = false;
  #unsubscribe: (() => void) | undefined;
  /** Auto-assignments run every few rounds, and soon after a target appears or changes. */
  #autoAssignDue = true;
  #lastAutoAssign = 0;
  /** Dynamic rollouts look for newly matching targets likewise. */
  #dynamicDue = false;
  #lastDynamicFill = 0;
  #fillThisRound = false;

  constructor(options: RolloutEngineOptions) {
    this.#service = options.service;
    this.#log = options.logger;
    this.#intervalMs = options.intervalMs ?? 2000;
    this.#approvalEnabled = options.approvalEnabled ?? (() => false);
    this.#confirmationFlow = options.confirmationFlow ?? (() => false);
    this.#assignable = options.assignable ?? (async () => {});
    this.#compatible = options.compatible ?? (async () => undefined);
    this.#now = options.now ?? Date.now;
    this.#lease = new RolloutLease(this.#service, {
      ttlMs: Math.max(10_000, this.#intervalMs * 5),
      now: this.#now,
    });
  }

  /** Runs rounds on the interval, and soon after an action ends. */
  start(): void {
    this.#timer = setInterval(() => this.kick(0), this.#intervalMs);
    this.#timer.unref();
    this.#unsubscribe = this.#service.onEvent((event) => {
      if (event.type === 'ACTION_UPDATED' && !event.actionActive) this.kick(100);
      else if (event.type === 'TARGET_CREATED' || event.type === 'TARGET_UPDATED') {
        this.#autoAssignDue = true;
        this.#dynamicDue = true;
        this.kick(200);
      }
    });
  }

  /** A round within `delayMs`, unless one is already due. */
  kick(delayMs = 0): void {
    if (this.#closed || this.#soon) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      void this.round().catch((err) => this.#log.error({ err }, 'rollout round failed'));
    }, delayMs);
    this.#soon.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    this.#unsubscribe?.();
    await this.#round?.catch(() => {});
    await this.#lease.release().catch(() => {});
  }

  // ------------------------------------------------------------------ management operations

  /** `POST /rollouts`: the groups are filled now, in batches; the rollout is ready (or waits for approval). */
  async create(
    input: RolloutCreate,
    user: string,
    targets?: readonly string[],
  ): Promise<RolloutRecord> {
    if (input.dynamic && input.groups) invalid('Dynamic rollouts are not supported with groups');
    if (input.groups && input.amountGroups !== undefined)
      invalid("If 'group' is set the 'amountGroups' must not be set in the request");
    const amount = input.amountGroups ?? 1;
    const groupCount = input.groups?.length ?? amount;
    if (groupCount > MAX_ROLLOUT_GROUPS)
      throw new OtaflowError(
        'QUOTA_EXCEEDED',
        `Quota exceeded: Cannot assign more than ${MAX_ROLLOUT_GROUPS} rollout groups to a rollout.`,
      );
    if (groupCount < 1) invalid('the amount of groups must be greater than zero');
    const set = await this.#service.requireDistributionSet(input.distributionSetId);
    await this.#assignable(set);
    const compatible = await this.#compatible(set);
    const query = targets ? undefined : storeFilter(input.targetFilterQuery, targetListNames);
    const filter: FilterNode | undefined =
      query && compatible ? { kind: 'and', nodes: [query, compatible] } : (query ?? undefined);
    const all = targets ? [...targets] : await this.#matching(filter);
    // A dynamic rollout may start empty: its targets may all come later.
    if (all.length === 0 && !input.dynamic) invalid('Rollout does not match any existing targets');
    const defaults = RolloutGroupConditions.parse({
      ...(input.successCondition ? { successCondition: input.successCondition } : {}),
      ...(input.successAction ? { successAction: input.successAction } : {}),
      ...(input.errorCondition ? { errorCondition: input.errorCondition } : {}),
      ...(input.errorAction ? { errorAction: input.errorAction } : {}),
    });
    const definitions: (GroupDefinition<string> & {
      create?: (typeof input.groups & {})[number];
    })[] = [];
    if (input.groups) {
      for (const group of input.groups) {
        const own = group.targetFilterQuery
          ? new Set(
              await this.#matching({
                kind: 'and',
                nodes: [
                  ...(filter ? [filter] : []),
                  storeFilter(group.targetFilterQuery, targetListNames),
                ],
              }),
            )
          : undefined;
        definitions.push({
          targetPercentage: group.targetPercentage,
          ...(own ? { matches: (id: string) => own.has(id) } : {}),
          create: group,
        });
      }
    } else {
      for (const p of amountGroupPercentages(amount)) definitions.push({ targetPercentage: p });
    }
    const split = splitTargets(all, definitions);
    if (split.left.length > 0)
      invalid("Rollout groups don't match all targets targeted by the rollout");
    for (const members of split.groups)
      if (members.length > MAX_TARGETS_PER_ROLLOUT_GROUP)
        throw new OtaflowError(
          'QUOTA_EXCEEDED',
          `Quota exceeded: Cannot assign more than ${MAX_TARGETS_PER_ROLLOUT_GROUP} targets to a rollout group.`,
        );

    const now = this.#now();
    const audit = { createdAt: now, createdBy: user, lastModifiedAt: now, lastModifiedBy: user };
    const rollouts = this.#service.collection(ROLLOUTS);
    const rollout: RolloutRecord = {
      id: await rollouts.nextId(),
      revision: 0,
      name: input.name,
      ...(input.description !== undefined ? { description: input.description } : {}),
      distributionSetId: set.id,
      targetFilterQuery: input.targetFilterQuery,
      status: 'creating',
      type: input.type ?? 'forced',
      ...(input.forcetime !== undefined ? { forcetime: input.forcetime } : {}),
      ...(input.weight !== undefined ? { weight: input.weight } : {}),
      confirmationRequired: input.confirmationRequired ?? this.#confirmationFlow(),
      ...(input.startAt !== undefined ? { startAt: input.startAt } : {}),
      conditions: defaults,
      totalTargets: all.length,
      deleted: false,
      ...(input.requireInstalledReport
        ? { installedReport: { timeoutMs: input.installedReportTimeout ?? 600_000 } }
        : {}),
      ...(input.dynamic
        ? {
            dynamic: true,
            dynamicGroupTemplate: {
              nameSuffix: input.dynamicGroupTemplate?.nameSuffix ?? '-dynamic',
              // hawkBit: the last static group's size, when the template names none.
              targetCount:
                input.dynamicGroupTemplate?.targetCount ??
                Math.max(1, split.groups.at(-1)?.length ?? 1),
            },
          }
        : {}),
      ...audit,
    };
    await rollouts.put(rollout, -1);
    const groups = this.#service.collection(ROLLOUT_GROUPS);
    for (const [position, members] of split.groups.entries()) {
      const create = definitions[position]?.create;
      await groups.put(
        {
          id: await groups.nextId(),
          revision: 0,
          scope: rolloutScope(rollout.id),
          rolloutId: rollout.id,
          position,
          name: create?.name ?? `group-${position + 1}`,
          ...(create?.description !== undefined ? { description: create.description } : {}),
          status: 'ready',
          ...(create?.targetFilterQuery ? { targetFilterQuery: create.targetFilterQuery } : {}),
          targetPercentage: definitions[position]?.targetPercentage ?? 100,
          conditions: RolloutGroupConditions.parse({
            successCondition: create?.successCondition ?? defaults.successCondition,
            successAction: create?.successAction ?? defaults.successAction,
            errorCondition: create?.errorCondition ?? defaults.errorCondition,
            errorAction: create?.errorAction ?? defaults.errorAction,
          }),
          confirmationRequired: create?.confirmationRequired ?? rollout.confirmationRequired,
          totalTargets: members.length,
          successActionDone: false,
          targets: members,
          ...audit,
        },
        -1,
      );
    }
    if (rollout.dynamic) await this.#addDynamicGroup(rollout, split.groups.length, 'ready', user);
    const created = await this.transition(
      rollout.id,
      { type: 'rollout.created', approvalNeeded: this.#approvalEnabled() },
      user,
    );
    if (created.startAt !== undefined) this.kick(Math.max(0, created.startAt - now));
    return created;
  }

  /**
   * One step of a rollout's machine by a user or the engine; an event the state does not take
   * is hawkBit's illegal state, and nothing changes.
   */
  async transition(
    id: number,
    event: RolloutEvent,
    user: string,
    patch: Partial<Pick<RolloutRecord, 'approvalRemark' | 'approveDecidedBy'>> = {},
  ): Promise<RolloutRecord> {
    const next = await this.#lock.run(String(id), async () => {
      const rollout = await this.#require(id);
      const status = rolloutStatusAfter(rollout.status, event);
      if (!status)
        throw new BackendError(
          'ROLLOUT_ILLEGAL_STATE',
          `Rollout ${id} is ${rollout.status}: ${event.type.slice('rollout.'.length)} is not allowed`,
        );
      return this.#save(rollout, { ...patch, status }, user);
    });
    if (next.status !== 'ready' || next.startAt !== undefined) this.kick(0);
    return next;
  }

  /** `PUT /rollouts/{id}`: name and description. */
  async update(
    id: number,
    patch: Partial<Pick<RolloutRecord, 'name' | 'description'>>,
    user: string,
  ): Promise<RolloutRecord> {
    return this.#lock.run(String(id), async () => this.#save(await this.#require(id), patch, user));
  }

  /** `triggerNextGroup`: the next scheduled group starts now, whatever the conditions say. */
  async triggerNextGroup(id: number, user: string): Promise<void> {
    await this.#lock.run(String(id), async () => {
      const rollout = await this.#require(id);
      const next = (await this.#groups(id)).find((g) => g.status === 'scheduled');
      if (rollout.status !== 'running' || !next)
        throw new BackendError(
          'ROLLOUT_ILLEGAL_STATE',
          `Rollout ${id} is ${rollout.status} with no scheduled group left`,
        );
      await this.#startGroup(next, user);
    });
  }

  /** `retry`: a new rollout `<name>_retry` of one group over the targets that failed. */
  async retry(id: number, user: string): Promise<RolloutRecord> {
    const rollout = await this.#require(id);
    if (rollout.status !== 'finished')
      throw new BackendError(
        'ROLLOUT_ILLEGAL_STATE',
        `Rollout ${id} is ${rollout.status}, not finished`,
      );
    const failed = await this.#controllerIds({
      kind: 'and',
      nodes: [
        actionsOf('rolloutId', id),
        { kind: 'cmp', field: 'status', op: '==', values: ['ERROR'] },
      ],
    });
    return this.create(
      {
        name: `${rollout.name}_retry`,
        distributionSetId: rollout.distributionSetId,
        targetFilterQuery: `failedrollout==${id}`,
        type: rollout.type,
        ...(rollout.forcetime !== undefined ? { forcetime: rollout.forcetime } : {}),
        ...(rollout.weight !== undefined ? { weight: rollout.weight } : {}),
        ...(rollout.startAt !== undefined ? { startAt: rollout.startAt } : {}),
        confirmationRequired: rollout.confirmationRequired,
      },
      user,
      failed,
    );
  }

  // ------------------------------------------------------------------ evaluation

  /** One evaluation round over every rollout with work left; concurrent calls share one round. */
  round(): Promise<void> {
    if (!this.#round) {
      this.#round = this.#evaluate().finally(() => {
        this.#round = undefined;
      });
    }
    return this.#round;
  }

  async #evaluate(): Promise<void> {
    if (this.#closed || !(await this.#lease.acquire())) return;
    const now = this.#now();
    this.#fillThisRound = this.#dynamicDue || now - this.#lastDynamicFill >= this.#intervalMs * 5;
    if (this.#fillThisRound) {
      this.#dynamicDue = false;
      this.#lastDynamicFill = now;
    }
    const rollouts = this.#service.collection(ROLLOUTS);
    const filter: FilterNode = { kind: 'cmp', field: 'status', op: '=in=', values: [...ACTIVE] };
    // Ids first: a step changes statuses, which would shift an offset read between steps.
    const ids: number[] = [];
    for (let offset = 0; ; offset += BATCH) {
      const page = await rollouts.list({ filter, offset, limit: BATCH });
      for (const rollout of page.items) ids.push(rollout.id);
      if (page.items.length < BATCH) break;
    }
    for (const id of ids) {
      if (this.#closed) return;
      try {
        await this.#lock.run(String(id), () => this.#step(id));
      } catch (err) {
        this.#log.warn({ err, rolloutId: id }, 'rollout step failed; retried next round');
      }
    }
    if (this.#autoAssignDue || now - this.#lastAutoAssign >= this.#intervalMs * 5) {
      this.#autoAssignDue = false;
      this.#lastAutoAssign = now;
      const assigned = await runAutoAssignments(this.#service, this.#log);
      if (assigned > 0) this.#log.info({ assigned }, 'auto-assigned');
    }
  }

  /** Auto-assignments soon (a filter or its set changed). */
  autoAssignSoon(): void {
    this.#autoAssignDue = true;
    this.kick(0);
  }

  async #step(id: number): Promise<void> {
    let rollout = await this.#require(id);
    const engine = 'system';
    if (rollout.status === 'ready') {
      if (rollout.startAt === undefined || rollout.startAt > this.#now()) return;
      rollout = await this.#save(rollout, { status: 'starting' }, engine);
    }
    if (rollout.status === 'starting') rollout = await this.#schedule(rollout);
    if (rollout.status === 'running') await this.#run(rollout);
    else if (rollout.status === 'stopping') await this.#stop(rollout);
    else if (rollout.status === 'deleting') await this.#delete(rollout);
  }

  /** Writes every group's actions as SCHEDULED (only those not written yet), then runs. */
  async #schedule(rollout: RolloutRecord): Promise<RolloutRecord> {
    const began = performance.now();
    const set = await this.#service.requireDistributionSet(rollout.distributionSetId);
    for (const group of await this.#groups(rollout.id)) {
      if (group.status !== 'ready') continue;
      const written = new Set(await this.#controllerIds(actionsOf('rolloutGroupId', group.id)));
      const missing = group.targets.filter((id) => !written.has(id));
      for (let i = 0; i < missing.length; i += SCHEDULE_BATCH) {
        // One read, one id reservation and one write per batch; targets deleted since the
        // rollout was created are left out.
        await this.#service.scheduleBatch(
          set,
          missing
            .slice(i, i + SCHEDULE_BATCH)
            .map((controllerId) => this.#actionInput(rollout, group, controllerId)),
        );
      }
      await this.#saveGroup(group, { type: 'group.schedule' }, 'system');
    }
    this.#log.info(
      { rolloutId: rollout.id, ms: Math.round(performance.now() - began) },
      'rollout actions scheduled',
    );
    return this.#save(rollout, { status: 'running' }, 'system');
  }

  async #run(rollout: RolloutRecord): Promise<void> {
    if (rollout.dynamic && this.#fillThisRound) rollout = await this.#fillDynamic(rollout);
    const groups = await this.#groups(rollout.id);
    const last = groups.at(-1);
    const downloadOnly = rollout.type === 'downloadonly';
    const progress: GroupProgress[] = [];
    for (const g of groups) {
      progress.push({
        id: g.id,
        status: g.status,
        conditions: g.conditions,
        successActionDone: g.successActionDone,
        ...(rollout.dynamic && g === last ? { dynamic: true } : {}),
        counts:
          g.status === 'running'
            ? await groupCounts(this.#service, g.id, downloadOnly, this.#installedReportOf(rollout))
            : { total: g.totalTargets, finished: 0, downloaded: 0, error: 0, open: g.totalTargets },
      });
    }
    const round = planRolloutRound(progress, downloadOnly);
    const byId = new Map(groups.map((g) => [g.id, g]));
    for (const groupId of round.successActionsDone) {
      const g = byId.get(groupId);
      if (g) byId.set(groupId, await this.#saveGroupFields(g, { successActionDone: true }));
    }
    for (const { id, event } of round.groups) {
      const g = byId.get(id);
      if (!g) continue;
      if (event === 'group.start') await this.#startGroup(g, 'system');
      else byId.set(id, await this.#saveGroup(g, { type: event }, 'system'));
    }
    if (round.rollout) {
      const status = rolloutStatusAfter(rollout.status, { type: round.rollout });
      if (status) await this.#save(rollout, { status }, 'system');
      this.#log.info({ rolloutId: rollout.id, status }, 'rollout moved');
    }
  }

  /** What a success needs when the rollout waits for devices' reports after their restart. */
  #installedReportOf(rollout: RolloutRecord) {
    return rollout.installedReport
      ? { reportedSince: this.#now() - rollout.installedReport.timeoutMs }
      : undefined;
  }

  /** The action a group's member gets: the rollout's settings, the group's confirmation. */
  #actionInput(
    rollout: RolloutRecord,
    group: RolloutGroupRecord,
    controllerId: string,
  ): AssignTargetInput {
    return {
      controllerId,
      rolloutId: rollout.id,
      rolloutGroupId: group.id,
      type: rollout.type,
      confirmationRequired: group.confirmationRequired,
      ...(rollout.weight !== undefined ? { weight: rollout.weight } : {}),
      ...(rollout.forcetime !== undefined ? { forcedTime: rollout.forcetime } : {}),
    };
  }

  /** A new, empty group for targets that match later; the last group of a dynamic rollout. */
  async #addDynamicGroup(
    rollout: RolloutRecord,
    position: number,
    status: 'ready' | 'scheduled',
    user: string,
  ): Promise<RolloutGroupRecord> {
    const groups = this.#service.collection(ROLLOUT_GROUPS);
    const now = this.#now();
    const record: RolloutGroupRecord = {
      id: await groups.nextId(),
      revision: 0,
      scope: rolloutScope(rollout.id),
      rolloutId: rollout.id,
      position,
      name: `group-${position + 1}${rollout.dynamicGroupTemplate?.nameSuffix ?? ''}`,
      status,
      targetPercentage: 100,
      conditions: rollout.conditions,
      confirmationRequired: rollout.confirmationRequired,
      totalTargets: 0,
      successActionDone: false,
      dynamic: true,
      targets: [],
      createdAt: now,
      createdBy: user,
      lastModifiedAt: now,
      lastModifiedBy: user,
    };
    await groups.put(record, -1);
    return record;
  }

  /**
   * Targets that match a running dynamic rollout since it was made join its last group, and new
   * groups of `targetCount` after it; their actions are written at once, and started when their
   * group runs already (hawkBit checks at most once a minute; here every few rounds and soon after
   * a target appears).
   */
  async #fillDynamic(rollout: RolloutRecord): Promise<RolloutRecord> {
    const set = await this.#service.requireDistributionSet(rollout.distributionSetId);
    const compatible = await this.#compatible(set);
    const query = storeFilter(rollout.targetFilterQuery, targetListNames);
    const matching = await this.#matching(
      compatible ? { kind: 'and', nodes: [query, compatible] } : query,
    );
    const groups = await this.#groups(rollout.id);
    const members = new Set(groups.flatMap((g) => g.targets));
    const fresh = matching.filter((id) => !members.has(id));
    if (fresh.length === 0) return rollout;
    const added = fresh.length;
    const size = rollout.dynamicGroupTemplate?.targetCount ?? 1;
    let last = groups.at(-1);
    while (fresh.length > 0) {
      if (
        !last?.dynamic ||
        last.targets.length >= size ||
        last.status === 'finished' ||
        last.status === 'error'
      )
        last = await this.#addDynamicGroup(
          rollout,
          (last?.position ?? -1) + 1,
          'scheduled',
          'system',
        );
      const joining = fresh.splice(0, size - last.targets.length);
      last = await this.#saveGroupFields(last, {
        targets: [...last.targets, ...joining],
        totalTargets: last.targets.length + joining.length,
      });
      const written = await this.#service.scheduleBatch(
        set,
        joining.map((controllerId) =>
          this.#actionInput(rollout, last as RolloutGroupRecord, controllerId),
        ),
      );
      if (last.status === 'running') await this.#service.startScheduled(written.map((a) => a.id));
    }
    return this.#save(rollout, { totalTargets: rollout.totalTargets + added }, 'system');
  }

  /** A group's scheduled actions become live, a batch at a time. */
  async #startGroup(group: RolloutGroupRecord, user: string): Promise<void> {
    const began = performance.now();
    const scheduled: FilterNode = {
      kind: 'and',
      nodes: [
        actionsOf('rolloutGroupId', group.id),
        { kind: 'cmp', field: 'status', op: '==', values: ['SCHEDULED'] },
      ],
    };
    for (;;) {
      const page = await this.#service.pageActions({ filter: scheduled, limit: BATCH });
      if (page.items.length === 0) break;
      const started = await this.#service.startScheduled(page.items.map((a: ActionView) => a.id));
      if (started.length === 0) break;
    }
    await this.#saveGroup(group, { type: 'group.start' }, user);
    this.#log.info(
      { rolloutId: group.rolloutId, group: group.name, ms: Math.round(performance.now() - began) },
      'rollout group started',
    );
  }

  /** hawkBit's stop: scheduled actions are dropped, running ones canceled, open groups finished. */
  async #stop(rollout: RolloutRecord): Promise<void> {
    await this.#cancelActions(rollout.id);
    for (const g of await this.#groups(rollout.id))
      if (rolloutGroupStatusAfter(g.status, { type: 'group.stop' }))
        await this.#saveGroup(g, { type: 'group.stop' }, 'system');
    await this.#save(rollout, { status: 'stopped' }, 'system');
  }

  /** Soft when actions remain to show what happened, else the rollout and its groups go. */
  async #delete(rollout: RolloutRecord): Promise<void> {
    await this.#cancelActions(rollout.id);
    const any = await this.#service.pageActions({
      filter: actionsOf('rolloutId', rollout.id),
      limit: 0,
    });
    if (any.total > 0) {
      await this.#save(rollout, { status: 'deleted', deleted: true }, 'system');
      return;
    }
    await this.#service.collection(ROLLOUT_GROUPS).deleteScope(rolloutScope(rollout.id));
    await this.#service.collection(ROLLOUTS).delete(rollout.id);
  }

  async #cancelActions(rolloutId: number): Promise<void> {
    const open: FilterNode = {
      kind: 'and',
      nodes: [
        actionsOf('rolloutId', rolloutId),
        {
          kind: 'or',
          nodes: [
            { kind: 'cmp', field: 'active', op: '==', values: ['true'] },
            { kind: 'cmp', field: 'status', op: '==', values: ['SCHEDULED'] },
          ],
        },
      ],
    };
    let offset = 0;
    for (;;) {
      const page = await this.#service.pageActions({ filter: open, offset, limit: BATCH });
      if (page.items.length === 0) break;
      let moved = 0;
      for (const action of page.items) {
        if (action.status === 'CANCELING') continue;
        const result = await this.#service.apply(action.id, {
          type: 'cancel.requested',
          at: this.#now(),
          messages: [`rollout ${rolloutId} stopped`],
        });
        if (result.ok) moved++;
      }
      // CANCELING actions stay open: step past them instead of reading them again.
      if (moved === 0) offset += page.items.length;
    }
  }

  // ------------------------------------------------------------------ records

  async #require(id: number): Promise<RolloutRecord> {
    const rollout = await this.#service.collection(ROLLOUTS).get(id);
    if (!rollout)
      throw new BackendError(
        'ROLLOUT_NOT_FOUND',
        `Rollout with given identifier {${id}} does not exist.`,
      );
    return rollout;
  }

  async #groups(rolloutId: number): Promise<RolloutGroupRecord[]> {
    const page = await this.#service
      .collection(ROLLOUT_GROUPS)
      .list({ sort: [{ field: 'position', direction: 'ASC' }] }, rolloutScope(rolloutId));
    return page.items;
  }

  async #save(
    rollout: RolloutRecord,
    patch: Partial<RolloutRecord>,
    user: string,
  ): Promise<RolloutRecord> {
    const next: RolloutRecord = {
      ...rollout,
      ...patch,
      revision: rollout.revision + 1,
      lastModifiedAt: this.#now(),
      lastModifiedBy: user,
    };
    await this.#service.collection(ROLLOUTS).put(next, rollout.revision);
    return next;
  }

  async #saveGroup(
    group: RolloutGroupRecord,
    event: RolloutGroupEvent,
    user: string,
  ): Promise<RolloutGroupRecord> {
    const status = rolloutGroupStatusAfter(group.status, event);
    if (!status) return group;
    return this.#saveGroupFields(group, { status }, user);
  }

  async #saveGroupFields(
    group: RolloutGroupRecord,
    patch: Partial<RolloutGroupRecord>,
    user = 'system',
  ): Promise<RolloutGroupRecord> {
    const next: RolloutGroupRecord = {
      ...group,
      ...patch,
      revision: group.revision + 1,
      lastModifiedAt: this.#now(),
      lastModifiedBy: user,
    };
    await this.#service.collection(ROLLOUT_GROUPS).put(next, group.revision);
    return next;
  }

  /** Controller ids of the targets a filter matches, read a page at a time. */
  async #matching(filter: FilterNode | undefined): Promise<string[]> {
    const out: string[] = [];
    for (let offset = 0; ; offset += READ_PAGE) {
      const page = await this.#service.listTargets({
        ...(filter ? { filter } : {}),
        offset,
        limit: READ_PAGE,
      });
      for (const t of page.items) out.push(t.controllerId);
      if (page.items.length < READ_PAGE) return out;
    }
  }

  /** Controller ids of the actions a filter matches. */
  async #controllerIds(filter: FilterNode): Promise<string[]> {
    const out: string[] = [];
    for (let offset = 0; ; offset += READ_PAGE) {
      const page = await this.#service.pageActions({ filter, offset, limit: READ_PAGE });
      for (const a of page.items) out.push(a.controllerId);
      if (page.items.length < READ_PAGE) return out;
    }
  }
}

function invalid(message: string): never {
  throw new OtaflowError('INVALID_INPUT', message);
}
