import {
  type ActionStatus,
  type FilterNode,
  METADATA,
  metadataScope,
  ROLLOUTS,
  type RolloutRecord,
  type RolloutStatus,
  TARGET_FILTERS,
  type TargetFilterRecord,
} from '@otaflow/core';
import { z } from 'zod';
import { queryList, storeListQuery } from '../query.js';
import { moduleFields, targetListNames } from './fields.js';
import type { EndpointRequest, ManagementContext, Reply, Route } from './ManagementContext.js';
import { LIST_QUERY } from './openApiDocument.js';
import { notFound } from './Problem.js';
import { quotaProblem, quotasOf } from './quotas.js';
import { moduleJson, paged, targetJson } from './representations.js';
import { check, objectBody, requireAssignable, requireSet } from './requests.js';
import { DISTRIBUTION_SET_TAG_KIND, untagEverywhere } from './tags.js';
import { filterJson, targetFilterListNames } from './targetFilters.js';
import { fitModules, typeCatalogue } from './typeCatalogue.js';

/** `POST /distributionsets/{id}/assignedSM`: `[{ "id": 1 }, ...]`. */
const ModuleAssignment = z.array(z.object({ id: z.number().int() }));

/** hawkBit's `MgmtInvalidateDistributionSetRequestBody`. */
const InvalidateBody = z.object({
  actionCancelationType: z.preprocess(
    (v) => (typeof v === 'string' ? v.toLowerCase() : v),
    z.enum(['none', 'soft', 'force']),
  ),
  /** Older hawkBit releases sent it; rollouts stop whenever actions are canceled. */
  cancelRollouts: z.boolean().optional(),
});

const ACTION_STATUSES: readonly ActionStatus[] = [
  'SCHEDULED',
  'WAIT_FOR_CONFIRMATION',
  'RUNNING',
  'RETRIEVED',
  'DOWNLOAD',
  'DOWNLOADED',
  'WARNING',
  'CANCELING',
  'FINISHED',
  'ERROR',
  'CANCELED',
];
const STOPPABLE: readonly RolloutStatus[] = [
  'creating',
  'ready',
  'waiting_for_approval',
  'starting',
  'running',
  'paused',
  'approval_denied',
];

const bySet = (field: string, id: number): FilterNode => ({
  kind: 'cmp',
  field,
  op: '==',
  values: [String(id)],
});

/** Every record of a collection list that matches, read in pages (a set's rollouts, its filters). */
async function allOf<T>(list: (offset: number) => Promise<{ items: T[] }>): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await list(offset);
    out.push(...page.items);
    if (page.items.length < 500) return out;
  }
}

const rolloutsOf = (api: ManagementContext, setId: number) =>
  allOf<RolloutRecord>((offset) =>
    api.service
      .collection(ROLLOUTS)
      .list({ filter: bySet('distributionSetId', setId), offset, limit: 500 }),
  );
const filtersOf = (api: ManagementContext, setId: number) =>
  allOf<TargetFilterRecord>((offset) =>
    api.service
      .collection(TARGET_FILTERS)
      .list({ filter: bySet('autoAssignDistributionSetId', setId), offset, limit: 500 }),
  );

/** Drops the auto-assignment of every filter that auto-assigns `setId`. */
async function dropAutoAssignments(api: ManagementContext, setId: number) {
  const filters = api.service.collection(TARGET_FILTERS);
  for (const f of await filtersOf(api, setId)) {
    const { autoAssign: _dropped, ...rest } = f;
    await filters.put(
      { ...rest, revision: f.revision + 1, lastModifiedAt: Date.now() },
      f.revision,
    );
  }
}

/**
 * `DELETE /distributionsets/{id}`: soft (kept, marked deleted) while actions or rollouts refer to
 * it, else for good with its metadata and tags; either way no filter auto-assigns it any more.
 */
export async function deleteDistributionSet(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const set = await requireSet(api, request.params.id);
  await dropAutoAssignments(api, set.id);
  const soft = (await rolloutsOf(api, set.id)).some((r) => !r.deleted);
  const how = await api.service.deleteDistributionSet(set.id, { soft });
  if (how === 'hard') {
    await api.service.collection(METADATA).deleteScope(metadataScope.distributionSet(set.id));
    await untagEverywhere(api, DISTRIBUTION_SET_TAG_KIND, String(set.id));
  }
  return { status: 204 };
}

/** `GET /distributionsets/{id}/assignedSM`: its modules, filtered, sorted and paged. */
export async function listAssignedModules(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const set = await requireSet(api, request.params.id);
  const [modules, types] = await Promise.all([
    api.service.modulesOf(set),
    typeCatalogue(api.service, api.user),
  ]);
  const page = queryList(modules, request.query, moduleFields, 'id:ASC');
  return {
    status: 200,
    body: paged(
      page.items.map((m) => moduleJson(api, request.base, m, false, types)),
      page.total,
    ),
  };
}

/**
 * `POST /distributionsets/{id}/assignedSM`: adds modules; each must fit the set's type and its
 * type's `maxAssignments`; a locked set answers 423, as hawkBit.
 */
export async function assignModules(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const set = await requireSet(api, request.params.id);
  const ids = check(ModuleAssignment, await request.json()).map((m) => m.id);
  const all = [...new Set([...set.modules, ...ids])];
  const limit = quotasOf(api).softwareModulesPerDistributionSet;
  if (all.length > limit)
    throw quotaProblem('software modules', `distribution set ${set.id}`, limit);
  const modules = [];
  for (const id of all) {
    const module = await api.service.getSoftwareModule(id);
    if (!module) throw notFound('SoftwareModule', id);
    modules.push(module);
  }
  const types = await typeCatalogue(api.service, api.user);
  const fitted = fitModules(types, set.type, modules).map((m) => m.id);
  await api.service.setModulesOfDistributionSet(set.id, fitted);
  return { status: 204 };
}

/** `DELETE /distributionsets/{id}/assignedSM/{moduleId}`: 423 on a locked set. */
export async function unassignModule(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const set = await requireSet(api, request.params.id);
  const moduleId = Number(request.params.moduleId);
  if (!set.modules.includes(moduleId))
    throw notFound('SoftwareModule', request.params.moduleId ?? '');
  await api.service.setModulesOfDistributionSet(
    set.id,
    set.modules.filter((m) => m !== moduleId),
  );
  return { status: 204 };
}

/** The targets whose assigned (or installed) set is this one, filtered, sorted, paged in the store. */
function targetsWith(field: 'assignedDistributionSetId' | 'installedDistributionSetId') {
  return async (api: ManagementContext, request: EndpointRequest): Promise<Reply> => {
    const set = await requireSet(api, request.params.id);
    const query = storeListQuery(request.query, targetListNames, 'controllerId:ASC');
    const mine = bySet(field, set.id);
    const filter: FilterNode = query.filter ? { kind: 'and', nodes: [mine, query.filter] } : mine;
    const page = await api.service.listTargets({ ...query, filter });
    return {
      status: 200,
      body: paged(
        page.items.map((t) => targetJson(api, request.base, t, false)),
        page.total,
      ),
    };
  };
}

export const listAssignedTargets = targetsWith('assignedDistributionSetId');
export const listInstalledTargets = targetsWith('installedDistributionSetId');

/** `GET /distributionsets/{id}/autoAssignTargetFilters`: the filters that auto-assign it. */
export async function listAutoAssignFilters(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const set = await requireSet(api, request.params.id);
  const query = storeListQuery(request.query, targetFilterListNames, 'id:ASC');
  const mine = bySet('autoAssignDistributionSetId', set.id);
  const filter: FilterNode = query.filter ? { kind: 'and', nodes: [mine, query.filter] } : mine;
  const page = await api.service.collection(TARGET_FILTERS).list({ ...query, filter });
  return {
    status: 200,
    body: paged(
      page.items.map((f) => filterJson(request.base, f)),
      page.total,
    ),
  };
}

async function actionCounts(api: ManagementContext, setId: number) {
  const counts: Record<string, number> = {};
  await Promise.all(
    ACTION_STATUSES.map(async (status) => {
      const filter: FilterNode = {
        kind: 'and',
        nodes: [
          bySet('distributionSetId', setId),
          { kind: 'cmp', field: 'status', op: '==', values: [status] },
        ],
      };
      const n = (await api.service.pageActions({ filter, limit: 0 })).total;
      if (n > 0) counts[status] = n;
    }),
  );
  return counts;
}

async function rolloutCounts(api: ManagementContext, setId: number) {
  const counts: Record<string, number> = {};
  for (const r of await rolloutsOf(api, setId))
    counts[r.status.toUpperCase()] = (counts[r.status.toUpperCase()] ?? 0) + 1;
  return counts;
}

/** hawkBit's statistics maps carry a `total` when asked in full or when not empty. */
function withTotal(counts: Record<string, number>, full: boolean) {
  if (!full && Object.keys(counts).length === 0) return undefined;
  return { ...counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
}

type Part = 'actions' | 'rollouts' | 'autoassignments';

/** `GET /distributionsets/{id}/statistics[/actions|/rollouts|/autoassignments]`. */
function statistics(parts: readonly Part[]) {
  return async (api: ManagementContext, request: EndpointRequest): Promise<Reply> => {
    const set = await requireSet(api, request.params.id);
    const full = parts.length > 1;
    const body: Record<string, unknown> = {};
    if (parts.includes('actions')) {
      const a = withTotal(await actionCounts(api, set.id), full);
      if (a) body.actions = a;
    }
    if (parts.includes('rollouts')) {
      const r = withTotal(await rolloutCounts(api, set.id), full);
      if (r) body.rollouts = r;
    }
    if (parts.includes('autoassignments'))
      body.totalAutoAssignments = (await filtersOf(api, set.id)).length;
    return { status: 200, body };
  };
}

/**
 * `POST /distributionsets/{id}/invalidate`: the set is never assigned again; with `soft` its
 * open actions are canceled, with `force` force-quit, and its rollouts stop; filters stop
 * auto-assigning it. An incomplete set cannot be invalidated (hawkBit's 400).
 */
export async function invalidateDistributionSet(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const set = await requireSet(api, request.params.id);
  const body = check(InvalidateBody, await objectBody(request));
  await requireAssignable(api, { ...set, valid: true });
  await api.service.invalidateDistributionSet(set.id);
  await dropAutoAssignments(api, set.id);
  if (body.actionCancelationType !== 'none') {
    for (const r of await rolloutsOf(api, set.id))
      if (STOPPABLE.includes(r.status))
        await api.rollouts.transition(r.id, { type: 'rollout.stop' }, api.user);
    const open: FilterNode = {
      kind: 'and',
      nodes: [
        bySet('distributionSetId', set.id),
        { kind: 'cmp', field: 'active', op: '==', values: ['true'] },
      ],
    };
    const actions = await allOf((offset) =>
      api.service.pageActions({ filter: open, offset, limit: 500 }),
    );
    const message = `Update Server: distribution set ${set.name}:${set.version} invalidated`;
    for (const a of actions) {
      if (a.status !== 'CANCELING') await api.service.cancel(a.id, [message]);
      if (body.actionCancelationType === 'force') await api.service.forceQuit(a.id, [message]);
    }
  }
  return { status: 204 };
}

const one = '/distributionsets/:id';

export const distributionSetOperationRoutes: Route[] = [
  { method: 'DELETE', path: one, endpoint: deleteDistributionSet },
  { method: 'GET', path: `${one}/assignedSM`, endpoint: listAssignedModules, query: LIST_QUERY },
  {
    method: 'POST',
    path: `${one}/assignedSM`,
    endpoint: assignModules,
    body: { schema: ModuleAssignment },
  },
  { method: 'DELETE', path: `${one}/assignedSM/:moduleId`, endpoint: unassignModule },
  {
    method: 'GET',
    path: `${one}/assignedTargets`,
    endpoint: listAssignedTargets,
    query: LIST_QUERY,
  },
  {
    method: 'GET',
    path: `${one}/installedTargets`,
    endpoint: listInstalledTargets,
    query: LIST_QUERY,
  },
  {
    method: 'GET',
    path: `${one}/autoAssignTargetFilters`,
    endpoint: listAutoAssignFilters,
    query: LIST_QUERY,
  },
  {
    method: 'GET',
    path: `${one}/statistics`,
    endpoint: statistics(['actions', 'rollouts', 'autoassignments']),
  },
  { method: 'GET', path: `${one}/statistics/actions`, endpoint: statistics(['actions']) },
  { method: 'GET', path: `${one}/statistics/rollouts`, endpoint: statistics(['rollouts']) },
  {
    method: 'GET',
    path: `${one}/statistics/autoassignments`,
    endpoint: statistics(['autoassignments']),
  },
  {
    method: 'POST',
    path: `${one}/invalidate`,
    endpoint: invalidateDistributionSet,
    body: { schema: InvalidateBody },
  },
];
