import { ControllerId, type FilterNode, TargetGroup, type TargetSelection } from '@otaflow/core';
import { parseStoreFilter, storeListQuery } from '../query.js';
import { resolveAuditFields, resolveAuditFilter } from './auditFields.js';
import { targetListNames } from './fields.js';
import type { EndpointRequest, ManagementContext, Reply, Route } from './ManagementContext.js';
import { LIST_QUERY } from './openApiDocument.js';
import { hawkbitProblem, notReadable, springProblem } from './Problem.js';
import { paged, targetJson } from './representations.js';
import { check, hasBody } from './requests.js';

// hawkBit 0.10's target groups (MgmtTargetGroupRestApi): a target's optional `group` is a path,
// `/` between its levels. Moves run in the store, a batch at a time, and answer 204 without a
// body; unknown controller ids are passed over, as hawkBit's `UPDATE ... WHERE controllerId IN`.

/** A request parameter Spring requires: without it, Spring Boot's own 400. */
function requiredParam(request: EndpointRequest, name: string): string {
  const value = request.query.get(name);
  if (value === null) throw springProblem(400);
  return value;
}

/** A group named by a parameter or the path: hawkBit's 256-character column, never empty. */
const groupOf = (value: string | undefined): string => check(TargetGroup, value);

/** `q` in the target list's RSQL vocabulary (hawkBit's names), as a store filter. */
const filterOf = (api: ManagementContext, q: string): FilterNode =>
  resolveAuditFilter(parseStoreFilter(q, targetListNames), api.user);

/** A group exactly (case-insensitively, as hawkBit's `lower(group) = lower(?)`), or with its sub-groups. */
function groupFilter(group: string, subgroups: boolean): FilterNode {
  const exact: FilterNode = { kind: 'cmp', field: 'group', op: '=in=', values: [group] };
  if (!subgroups) return exact;
  return {
    kind: 'or',
    nodes: [exact, { kind: 'cmp', field: 'group', op: '==', values: [`${group}/*`] }],
  };
}

/** The controller ids of a body: a JSON array of strings, never empty (hawkBit's `@NotEmpty`). */
async function controllerIdsOf(request: EndpointRequest): Promise<string[]> {
  const body = await request.json();
  if (!Array.isArray(body) || !body.every((id) => typeof id === 'string')) throw notReadable();
  const ids = body.map((id) => check(ControllerId, id));
  if (ids.length === 0) throw hawkbitProblem(400, 'constraint', 'controllerIds must not be empty.');
  return ids;
}

async function moveTargets(
  api: ManagementContext,
  group: string | undefined,
  selection: TargetSelection,
): Promise<Reply> {
  await api.service.setTargetGroup(group, selection);
  return { status: 204 };
}

async function listGroupTargets(
  api: ManagementContext,
  request: EndpointRequest,
  group: string,
  subgroups: boolean,
): Promise<Reply> {
  const query = storeListQuery(request.query, targetListNames, 'controllerId:ASC', {
    allowQ: false,
  });
  const sorted = resolveAuditFields(query, api.user);
  const page = await api.service.listTargets({ ...sorted, filter: groupFilter(group, subgroups) });
  const content = page.items.map((t) => targetJson(api, request.base, t, false));
  return { status: 200, body: paged(content, page.total) };
}

/** `GET /targetgroups`: every group in use, a plain JSON array (hawkBit's `List<String>`). */
export async function listTargetGroups(api: ManagementContext): Promise<Reply> {
  return { status: 200, body: await api.service.listTargetGroups() };
}

/** `PUT /targetgroups?group=..&q=..`: the targets `q` matches go into `group`. */
export async function assignGroupByFilter(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const group = groupOf(requiredParam(request, 'group'));
  const filter = filterOf(api, requiredParam(request, 'q'));
  return moveTargets(api, group, { filter });
}

/** `DELETE /targetgroups?q=..`: the targets `q` matches leave their group; `q` is required. */
export async function unassignGroupByFilter(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const q = request.query.get('q');
  // hawkBit declares `q` optional here but its repository refuses a null filter (`@NotNull`).
  if (q === null) throw hawkbitProblem(400, 'constraint', 'rsql must not be null.');
  return moveTargets(api, undefined, { filter: filterOf(api, q) });
}

/** `GET /targetgroups/assigned?group=..&subgroups=..`: the group's targets, paged. */
export async function listAssignedTargets(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const group = requiredParam(request, 'group');
  const subgroups = request.query.get('subgroups') ?? 'false';
  // Spring converts a boolean parameter case-insensitively and refuses anything else.
  if (!/^(true|false)$/i.test(subgroups)) throw springProblem(400);
  return listGroupTargets(api, request, group, subgroups.toLowerCase() === 'true');
}

/** `GET /targetgroups/{group}/assigned`: the group's own targets (no sub-groups), paged. */
export async function listGroupAssignedTargets(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  return listGroupTargets(api, request, request.params.group ?? '', false);
}

/** `PUT /targetgroups/assigned?group=..`: the listed targets go into `group` (a path). */
export async function assignGroupToTargets(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const group = groupOf(requiredParam(request, 'group'));
  return moveTargets(api, group, { controllerIds: await controllerIdsOf(request) });
}

/** `PUT /targetgroups/{group}/assigned`: the listed targets go into the path's group. */
export async function assignPathGroupToTargets(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const controllerIds = await controllerIdsOf(request);
  return moveTargets(api, groupOf(request.params.group), { controllerIds });
}

/** `DELETE /targetgroups/assigned`: the listed targets leave their group. */
export async function unassignGroupOfTargets(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  // No body is Spring's null list, which hawkBit's `@NotEmpty` refuses.
  if (!hasBody(request))
    throw hawkbitProblem(400, 'constraint', 'controllerIds must not be empty.');
  return moveTargets(api, undefined, { controllerIds: await controllerIdsOf(request) });
}

/** `PUT /targetgroups/{group}?q=..`: the targets `q` matches go into the path's group. */
export async function assignPathGroupByFilter(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const group = groupOf(request.params.group);
  return moveTargets(api, group, { filter: filterOf(api, requiredParam(request, 'q')) });
}

const controllerIdsBody = { schema: ControllerId, array: true };

export const targetGroupRoutes: Route[] = [
  { method: 'GET', path: '/targetgroups', endpoint: listTargetGroups },
  { method: 'PUT', path: '/targetgroups', endpoint: assignGroupByFilter, query: ['group', 'q'] },
  { method: 'DELETE', path: '/targetgroups', endpoint: unassignGroupByFilter, query: ['q'] },
  {
    method: 'GET',
    path: '/targetgroups/assigned',
    endpoint: listAssignedTargets,
    query: ['group', 'subgroups', ...LIST_QUERY],
  },
  {
    method: 'PUT',
    path: '/targetgroups/assigned',
    endpoint: assignGroupToTargets,
    body: controllerIdsBody,
    query: ['group'],
  },
  {
    method: 'DELETE',
    path: '/targetgroups/assigned',
    endpoint: unassignGroupOfTargets,
    body: controllerIdsBody,
  },
  { method: 'PUT', path: '/targetgroups/:group', endpoint: assignPathGroupByFilter, query: ['q'] },
  {
    method: 'GET',
    path: '/targetgroups/:group/assigned',
    endpoint: listGroupAssignedTargets,
    query: LIST_QUERY,
  },
  {
    method: 'PUT',
    path: '/targetgroups/:group/assigned',
    endpoint: assignPathGroupToTargets,
    body: controllerIdsBody,
  },
];
