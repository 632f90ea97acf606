import {
  ROLLOUT_GROUPS,
  ROLLOUTS,
  type RolloutEvent,
  type RolloutGroupConditions,
  type RolloutGroupRecord,
  type RolloutRecord,
  rolloutScope,
} from '@otaflow/core';
import { type StoreFieldNames, storeListQuery } from '../query.js';
import { actionsOf, targetsPerStatus } from '../rollouts/groupCounts.js';
import { RolloutCreate, RolloutUpdate } from '../rollouts/rolloutInput.js';
import type {
  Endpoint,
  EndpointRequest,
  ManagementContext,
  Reply,
  Route,
} from './ManagementContext.js';
import { LIST_QUERY } from './openApiDocument.js';
import { hawkbitProblem, notFound } from './Problem.js';
import { MGMT_BASE, paged, targetJson } from './representations.js';
import { check, intParam, objectBody, requireSet } from './requests.js';

type Json = Record<string, unknown>;

const ROLLOUT_NAMES: StoreFieldNames = {
  fields: {
    id: 'id',
    name: 'name',
    description: 'description',
    status: 'status',
    'distributionset.id': 'distributionSetId',
    createdAt: 'createdAt',
    lastModifiedAt: 'lastModifiedAt',
  },
};

const GROUP_NAMES: StoreFieldNames = {
  fields: {
    id: 'id',
    name: 'name',
    description: 'description',
    status: 'status',
    createdAt: 'createdAt',
    lastModifiedAt: 'lastModifiedAt',
  },
};

function audit(r: RolloutRecord | RolloutGroupRecord): Json {
  return {
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    lastModifiedBy: r.lastModifiedBy,
    lastModifiedAt: r.lastModifiedAt,
  };
}

const rolloutHref = (base: string, id: number) => `${base}${MGMT_BASE}/rollouts/${id}`;

/** hawkBit's `MgmtRolloutResponseBody`; counts and links to the operations with `full`. */
async function rolloutJson(
  api: ManagementContext,
  base: string,
  r: RolloutRecord,
  full: boolean,
): Promise<Json> {
  const self = rolloutHref(base, r.id);
  const body: Json = {
    ...audit(r),
    name: r.name,
    ...(r.description !== undefined ? { description: r.description } : {}),
    targetFilterQuery: r.targetFilterQuery,
    distributionSetId: r.distributionSetId,
    status: r.status,
    totalTargets: r.totalTargets,
    deleted: r.deleted,
    type: r.type,
    ...(r.forcetime !== undefined ? { forcetime: r.forcetime } : {}),
    ...(r.weight !== undefined ? { weight: r.weight } : {}),
    dynamic: r.dynamic === true,
    ...(r.installedReport
      ? { requireInstalledReport: true, installedReportTimeout: r.installedReport.timeoutMs }
      : {}),
    id: r.id,
  };
  const links: Json = { self: { href: self } };
  if (full) {
    body.totalTargetsPerStatus = await targetsPerStatus(
      api.service,
      actionsOf('rolloutId', r.id),
      r.totalTargets,
      r.type === 'downloadonly',
    );
    const groups = await api.service
      .collection(ROLLOUT_GROUPS)
      .list({ limit: 0 }, rolloutScope(r.id));
    body.totalGroups = groups.total;
    if (r.startAt !== undefined) body.startAt = r.startAt;
    if (r.approvalRemark !== undefined) body.approvalRemark = r.approvalRemark;
    if (r.approveDecidedBy !== undefined) body.approveDecidedBy = r.approveDecidedBy;
    for (const op of ['start', 'pause', 'resume', 'triggerNextGroup', 'approve', 'deny'])
      links[op] = { href: `${self}/${op}` };
    links.groups = { href: `${self}/deploygroups?offset=0&limit=50` };
    const set = await api.service.getDistributionSet(r.distributionSetId);
    links.distributionset = {
      href: `${base}${MGMT_BASE}/distributionsets/${r.distributionSetId}`,
      ...(set ? { name: `${set.name}:${set.version}` } : {}),
    };
  }
  body._links = links;
  return body;
}

function conditionsJson(c: RolloutGroupConditions): Json {
  return {
    successCondition: c.successCondition,
    successAction: c.successAction,
    errorCondition: c.errorCondition,
    errorAction: c.errorAction,
  };
}

/** hawkBit's `MgmtRolloutGroupResponseBody`. */
async function groupJson(
  api: ManagementContext,
  base: string,
  rollout: RolloutRecord,
  g: RolloutGroupRecord,
  full: boolean,
): Promise<Json> {
  const body: Json = {
    ...audit(g),
    name: g.name,
    ...(g.description !== undefined ? { description: g.description } : {}),
    ...conditionsJson(g.conditions),
    ...(g.targetFilterQuery !== undefined ? { targetFilterQuery: g.targetFilterQuery } : {}),
    targetPercentage: g.targetPercentage,
    confirmationRequired: g.confirmationRequired,
    id: g.id,
    status: g.status,
    totalTargets: g.totalTargets,
    _links: { self: { href: `${rolloutHref(base, rollout.id)}/deploygroups/${g.id}` } },
  };
  if (full) {
    body.totalTargetsPerStatus = await targetsPerStatus(
      api.service,
      actionsOf('rolloutGroupId', g.id),
      g.totalTargets,
      rollout.type === 'downloadonly',
    );
  }
  return body;
}

async function requireRollout(api: ManagementContext, raw: string | undefined) {
  const id = intParam(raw, 'Rollout');
  const rollout = await api.service.collection(ROLLOUTS).get(id);
  if (!rollout) throw notFound('Rollout', raw ?? '');
  return rollout;
}

async function requireGroup(
  api: ManagementContext,
  rollout: RolloutRecord,
  raw: string | undefined,
) {
  const id = intParam(raw, 'RolloutGroup');
  const group = await api.service.collection(ROLLOUT_GROUPS).get(id);
  if (!group || group.rolloutId !== rollout.id) throw notFound('RolloutGroup', raw ?? '');
  return group;
}

const isFull = (request: EndpointRequest) =>
  request.query.get('representation')?.toLowerCase() === 'full';

export async function listRollouts(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const query = storeListQuery(request.query, ROLLOUT_NAMES, 'id:ASC');
  const page = await api.service.collection(ROLLOUTS).list(query);
  const content = [];
  for (const r of page.items)
    content.push(await rolloutJson(api, request.base, r, isFull(request)));
  return { status: 200, body: paged(content, page.total) };
}

/** `POST /rollouts`: 201 with the rollout, its groups already filled (hawkBit fills them later). */
export async function createRollout(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const input = check(RolloutCreate, await objectBody(request));
  await requireSet(api, input.distributionSetId);
  const rollout = await api.rollouts.create(input, api.user);
  return { status: 201, body: await rolloutJson(api, request.base, rollout, true) };
}

export async function getRollout(api: ManagementContext, request: EndpointRequest): Promise<Reply> {
  const rollout = await requireRollout(api, request.params.rolloutId);
  return { status: 200, body: await rolloutJson(api, request.base, rollout, true) };
}

/** `PUT /rollouts/{id}`: name and description. */
export async function updateRollout(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const body = await objectBody(request);
  const rollout = await requireRollout(api, request.params.rolloutId);
  const patch = check(RolloutUpdate, body);
  const updated = await api.rollouts.update(rollout.id, patch, api.user);
  return { status: 200, body: await rolloutJson(api, request.base, updated, true) };
}

/** One operation of the rollout machine; 204 as hawkBit, 400 `rollout.illegalState` when refused. */
function operation(event: RolloutEvent, remark = false): Endpoint {
  return async (api, request) => {
    const rollout = await requireRollout(api, request.params.rolloutId);
    const text = remark ? request.query.get('remark') : null;
    const patch =
      event.type === 'rollout.approve' || event.type === 'rollout.deny'
        ? { approveDecidedBy: api.user, ...(text ? { approvalRemark: text } : {}) }
        : {};
    await api.rollouts.transition(rollout.id, event, api.user, patch);
    return { status: 204 };
  };
}

export const startRollout = operation({ type: 'rollout.start' });
export const pauseRollout = operation({ type: 'rollout.pause' });
export const resumeRollout = operation({ type: 'rollout.resume' });
export const stopRollout = operation({ type: 'rollout.stop' });
export const deleteRollout = operation({ type: 'rollout.delete' });
export const approveRollout = operation({ type: 'rollout.approve' }, true);
export const denyRollout = operation({ type: 'rollout.deny' }, true);

export async function triggerNextGroup(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const rollout = await requireRollout(api, request.params.rolloutId);
  await api.rollouts.triggerNextGroup(rollout.id, api.user);
  return { status: 204 };
}

/** `retry`: 201 with the new `<name>_retry` rollout over the targets that failed. */
export async function retryRollout(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const rollout = await requireRollout(api, request.params.rolloutId);
  const retried = await api.rollouts.retry(rollout.id, api.user);
  return { status: 201, body: await rolloutJson(api, request.base, retried, true) };
}

export async function listGroups(api: ManagementContext, request: EndpointRequest): Promise<Reply> {
  const rollout = await requireRollout(api, request.params.rolloutId);
  const query = storeListQuery(request.query, GROUP_NAMES, 'id:ASC');
  const page = await api.service.collection(ROLLOUT_GROUPS).list(query, rolloutScope(rollout.id));
  const content = [];
  for (const g of page.items)
    content.push(await groupJson(api, request.base, rollout, g, isFull(request)));
  return { status: 200, body: paged(content, page.total) };
}

export async function getGroup(api: ManagementContext, request: EndpointRequest): Promise<Reply> {
  const rollout = await requireRollout(api, request.params.rolloutId);
  const group = await requireGroup(api, rollout, request.params.groupId);
  return { status: 200, body: await groupJson(api, request.base, rollout, group, true) };
}

/** A group's targets: its members, paged (RSQL over members is not offered: `q` is refused). */
export async function listGroupTargets(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const rollout = await requireRollout(api, request.params.rolloutId);
  const group = await requireGroup(api, rollout, request.params.groupId);
  if (request.query.get('q'))
    throw hawkbitProblem(
      400,
      'constraint',
      'filtering the targets of a rollout group is not supported',
    );
  const offset = Math.max(0, Number(request.query.get('offset') ?? 0) || 0);
  const limit = Math.min(500, Math.max(1, Number(request.query.get('limit') ?? 50) || 50));
  const content = [];
  for (const id of group.targets.slice(offset, offset + limit)) {
    const target = await api.service.getTarget(id);
    if (target) content.push(targetJson(api, request.base, target, false));
  }
  return { status: 200, body: paged(content, group.targets.length) };
}

const base = '/rollouts/:rolloutId';

/** hawkBit's 16 rollout endpoints. */
export const rolloutRoutes: Route[] = [
  {
    method: 'GET',
    path: '/rollouts',
    endpoint: listRollouts,
    query: [...LIST_QUERY, 'representation'],
  },
  { method: 'POST', path: '/rollouts', endpoint: createRollout, body: { schema: RolloutCreate } },
  { method: 'GET', path: base, endpoint: getRollout },
  { method: 'PUT', path: base, endpoint: updateRollout, body: { schema: RolloutUpdate } },
  { method: 'DELETE', path: base, endpoint: deleteRollout },
  { method: 'POST', path: `${base}/approve`, endpoint: approveRollout, query: ['remark'] },
  { method: 'POST', path: `${base}/deny`, endpoint: denyRollout, query: ['remark'] },
  { method: 'POST', path: `${base}/start`, endpoint: startRollout },
  { method: 'POST', path: `${base}/pause`, endpoint: pauseRollout },
  { method: 'POST', path: `${base}/resume`, endpoint: resumeRollout },
  { method: 'POST', path: `${base}/stop`, endpoint: stopRollout },
  { method: 'POST', path: `${base}/retry`, endpoint: retryRollout },
  { method: 'POST', path: `${base}/triggerNextGroup`, endpoint: triggerNextGroup },
  {
    method: 'GET',
    path: `${base}/deploygroups`,
    endpoint: listGroups,
    query: [...LIST_QUERY, 'representation'],
  },
  { method: 'GET', path: `${base}/deploygroups/:groupId`, endpoint: getGroup },
  {
    method: 'GET',
    path: `${base}/deploygroups/:groupId/targets`,
    endpoint: listGroupTargets,
    query: LIST_QUERY,
  },
];
