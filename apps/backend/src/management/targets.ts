import { METADATA, metadataScope, OtaflowError } from '@otaflow/core';
import { z } from 'zod';
import { storeListQuery } from '../query.js';
import { resolveAuditFields } from './auditFields.js';
import { targetListNames } from './fields.js';
import type {
  Endpoint,
  EndpointRequest,
  ManagementContext,
  Reply,
  Route,
} from './ManagementContext.js';
import { LIST_QUERY } from './openApiDocument.js';
import { alreadyExists, emptyProblem, hawkbitProblem } from './Problem.js';
import { assignmentJson, paged, setJson, targetJson, targetTypeNames } from './representations.js';
import {
  arrayBody,
  check,
  DsAssignment,
  multiAssignmentProblem,
  objectBody,
  requireAssignable,
  requireCompatible,
  requireSet,
  requireTarget,
  requireTargetType,
  stripUndefined,
  TargetCreate,
  TargetUpdate,
  toAssignInput,
} from './requests.js';
import { TARGET_TAG_KIND, untagEverywhere } from './tags.js';

/** `POST /targets`: all or nothing; a known controller id is 409 and creates none. */
export async function createTargets(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const list = (await arrayBody(request)).map((item) => check(TargetCreate, item));
  for (const type of new Set(list.map((t) => t.targetType))) {
    if (type !== undefined) await requireTargetType(api, type);
  }
  // One read and one write for the whole array (core's createTargets): a fleet is created in
  // bulk requests, and a known or repeated controllerId still fails all of it with 409.
  const created = await api.service
    .createTargets(list.map((t) => stripUndefined(t)))
    .catch((error: unknown) => {
      throw error instanceof OtaflowError && error.code === 'TARGET_EXISTS'
        ? alreadyExists()
        : error;
    });
  const names = await targetTypeNames(api);
  return {
    status: 201,
    body: created.map((t) => targetJson(api, request.base, t, false, names)),
  };
}

/** `GET /targets`: RSQL `q` (with `attribute.<key>`), `sort`, `offset`, `limit`. */
export async function listTargets(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const query = storeListQuery(request.query, targetListNames, 'controllerId:ASC');
  const [page, names] = await Promise.all([
    api.service.listTargets(resolveAuditFields(query, api.user)),
    targetTypeNames(api),
  ]);
  const content = page.items.map((t) => targetJson(api, request.base, t, false, names));
  return { status: 200, body: paged(content, page.total) };
}

export async function getTarget(api: ManagementContext, request: EndpointRequest): Promise<Reply> {
  const target = await requireTarget(api, request.params.id);
  return {
    status: 200,
    body: targetJson(api, request.base, target, true, await targetTypeNames(api)),
  };
}

/** `PUT /targets/{id}`: the body is read first (415/400 before 404, as in hawkBit). */
export async function updateTarget(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const body = await objectBody(request);
  const target = await requireTarget(api, request.params.id);
  const patch = check(TargetUpdate, body);
  if (patch.requestAttributes === false) throw emptyProblem(400);
  // hawkBit: -1 leaves the type unassigned.
  if (patch.targetType !== undefined && patch.targetType !== -1)
    await requireTargetType(api, patch.targetType);
  const { targetType, ...rest } = patch;
  const updated = await api.service.updateTarget(target.controllerId, {
    ...stripUndefined(rest),
    ...(targetType === undefined ? {} : { targetType: targetType === -1 ? null : targetType }),
  });
  return {
    status: 200,
    body: targetJson(api, request.base, updated, true, await targetTypeNames(api)),
  };
}

export async function deleteTarget(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const target = await requireTarget(api, request.params.id);
  await api.service.deleteTarget(target.controllerId);
  // Its metadata goes with it: a target created again under the id starts without any.
  await api.service.collection(METADATA).deleteScope(metadataScope.target(target.controllerId));
  await untagEverywhere(api, TARGET_TAG_KIND, target.controllerId);
  return { status: 204 };
}

/** `GET /targets/{id}/attributes`: 204 while the device has reported none. */
export async function getTargetAttributes(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const target = await requireTarget(api, request.params.id);
  if (Object.keys(target.attributes).length === 0) return { status: 204 };
  return { status: 200, body: target.attributes };
}

function setOfTarget(which: 'assignedDistributionSetId' | 'installedDistributionSetId'): Endpoint {
  return async (api, request) => {
    // hawkBit answers 204 for an unknown target here too.
    const target = await api.service.getTarget(request.params.id ?? '');
    const id = target?.[which];
    const set = id === undefined ? undefined : await api.service.getDistributionSet(id);
    if (!set) return { status: 204 };
    return { status: 200, body: await setJson(api, request.base, set, true) };
  };
}

export const getAssignedSet: Endpoint = setOfTarget('assignedDistributionSetId');
export const getInstalledSet: Endpoint = setOfTarget('installedDistributionSetId');

/** `POST /targets/{id}/assignedDS`: one assignment (multi-assignment is not enabled). */
export async function assignSetToTarget(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const list = (await arrayBody(request)).map((item) => check(DsAssignment, item));
  const target = await requireTarget(api, request.params.id);
  if (list.length === 0) throw hawkbitProblem(400, 'constraint', 'assignments must not be empty.');
  if (list.length > 1) throw multiAssignmentProblem();
  const [assignment] = list as [DsAssignment];
  const set = await requireSet(api, assignment.id);
  await requireAssignable(api, set);
  await requireCompatible(api, set, [target]);
  const result = await api.service.assign(set.id, [
    toAssignInput(api, target.controllerId, assignment),
  ]);
  return { status: 200, body: assignmentJson(request.base, result) };
}

/** `POST /targets/{id}/targettype`: `{ "id": 3 }`; 204. */
export async function assignTargetType(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const target = await requireTarget(api, request.params.id);
  const { id } = check(z.object({ id: z.number().int() }), await request.json());
  await requireTargetType(api, id);
  await api.service.updateTarget(target.controllerId, { targetType: id });
  return { status: 204 };
}

/** `DELETE /targets/{id}/targettype`: the target accepts any set type again; 204. */
export async function unassignTargetType(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const target = await requireTarget(api, request.params.id);
  await api.service.updateTarget(target.controllerId, { targetType: null });
  return { status: 204 };
}

export const targetRoutes: Route[] = [
  {
    method: 'POST',
    path: '/targets/:id/targettype',
    endpoint: assignTargetType,
    body: { schema: z.object({ id: z.number().int() }) },
  },
  { method: 'DELETE', path: '/targets/:id/targettype', endpoint: unassignTargetType },
  {
    method: 'POST',
    path: '/targets',
    endpoint: createTargets,
    body: { schema: TargetCreate, array: true },
  },
  { method: 'GET', path: '/targets', endpoint: listTargets, query: LIST_QUERY },
  { method: 'GET', path: '/targets/:id', endpoint: getTarget },
  { method: 'PUT', path: '/targets/:id', endpoint: updateTarget, body: { schema: TargetUpdate } },
  { method: 'DELETE', path: '/targets/:id', endpoint: deleteTarget },
  { method: 'GET', path: '/targets/:id/attributes', endpoint: getTargetAttributes },
  { method: 'GET', path: '/targets/:id/assignedDS', endpoint: getAssignedSet },
  { method: 'GET', path: '/targets/:id/installedDS', endpoint: getInstalledSet },
  {
    method: 'POST',
    path: '/targets/:id/assignedDS',
    endpoint: assignSetToTarget,
    body: { schema: DsAssignment, array: true },
  },
];
