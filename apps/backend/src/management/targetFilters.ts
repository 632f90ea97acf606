import { ActionType, TARGET_FILTERS, type TargetFilterRecord, Weight } from '@otaflow/core';
import { z } from 'zod';
import { type StoreFieldNames, storeFilter, storeListQuery } from '../query.js';
import { targetListNames } from './fields.js';
import { lockOf } from './locks.js';
import type { EndpointRequest, ManagementContext, Reply, Route } from './ManagementContext.js';
import { LIST_QUERY } from './openApiDocument.js';
import { alreadyExists, notFound } from './Problem.js';
import { MGMT_BASE, paged, setJson } from './representations.js';
import { check, intParam, objectBody, requireAssignable, requireSet } from './requests.js';

type Json = Record<string, unknown>;

export const targetFilterListNames: StoreFieldNames = {
  fields: {
    id: 'id',
    name: 'name',
    query: 'query',
    'autoassigndistributionset.id': 'autoAssignDistributionSetId',
    createdAt: 'createdAt',
    lastModifiedAt: 'lastModifiedAt',
  },
};

/** `POST`/`PUT /targetfilters` (hawkBit's `MgmtTargetFilterQueryRequestBody`). */
const TargetFilterBody = z.object({
  name: z.string().min(1).max(128),
  query: z.string().min(1).max(1024),
});
const TargetFilterUpdate = TargetFilterBody.partial();

/** `POST /targetfilters/{id}/autoAssignDS` (hawkBit's `MgmtDistributionSetAutoAssignment`). */
const AutoAssignBody = z.object({
  id: z.number().int(),
  type: z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), ActionType).optional(),
  weight: Weight.optional(),
  confirmationRequired: z.boolean().optional(),
});

export function filterJson(base: string, f: TargetFilterRecord): Json {
  const self = `${base}${MGMT_BASE}/targetfilters/${f.id}`;
  return {
    createdBy: f.createdBy,
    createdAt: f.createdAt,
    lastModifiedBy: f.lastModifiedBy,
    lastModifiedAt: f.lastModifiedAt,
    id: f.id,
    name: f.name,
    query: f.query,
    ...(f.autoAssign
      ? {
          autoAssignDistributionSet: f.autoAssign.distributionSetId,
          autoAssignActionType: f.autoAssign.actionType,
          ...(f.autoAssign.weight !== undefined ? { autoAssignWeight: f.autoAssign.weight } : {}),
          confirmationRequired: f.autoAssign.confirmationRequired,
        }
      : {}),
    _links: { self: { href: self }, autoAssignDS: { href: `${self}/autoAssignDS` } },
  };
}

async function requireFilter(api: ManagementContext, raw: string | undefined) {
  const id = intParam(raw, 'TargetFilterQuery');
  const filter = await api.service.collection(TARGET_FILTERS).get(id);
  if (!filter) throw notFound('TargetFilterQuery', raw ?? '');
  return filter;
}

/** A filter's query must parse over the target fields: hawkBit's 400 otherwise. */
function checkQuery(query: string) {
  storeFilter(query, targetListNames);
}

async function save(
  api: ManagementContext,
  f: TargetFilterRecord,
  patch: Partial<TargetFilterRecord>,
) {
  const next = {
    ...f,
    ...patch,
    revision: f.revision + 1,
    lastModifiedAt: Date.now(),
    lastModifiedBy: api.user,
  };
  await api.service.collection(TARGET_FILTERS).put(next, f.revision);
  return next;
}

export async function listTargetFilters(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const query = storeListQuery(request.query, targetFilterListNames, 'id:ASC');
  const page = await api.service.collection(TARGET_FILTERS).list(query);
  return {
    status: 200,
    body: paged(
      page.items.map((f) => filterJson(request.base, f)),
      page.total,
    ),
  };
}

/** `POST /targetfilters`: one filter (not an array, unlike most creates); names are unique. */
export async function createTargetFilter(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const body = check(TargetFilterBody, await objectBody(request));
  checkQuery(body.query);
  const filters = api.service.collection(TARGET_FILTERS);
  return lockOf(api).run('targetfilters', async () => {
    if (await filters.findBy('name', body.name)) throw alreadyExists();
    const now = Date.now();
    const record: TargetFilterRecord = {
      id: await filters.nextId(),
      revision: 0,
      ...body,
      createdAt: now,
      createdBy: api.user,
      lastModifiedAt: now,
      lastModifiedBy: api.user,
    };
    await filters.put(record, -1);
    return { status: 201, body: filterJson(request.base, record) };
  });
}

export async function getTargetFilter(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  return {
    status: 200,
    body: filterJson(request.base, await requireFilter(api, request.params.filterId)),
  };
}

export async function updateTargetFilter(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const raw = await objectBody(request);
  const filter = await requireFilter(api, request.params.filterId);
  const patch = check(TargetFilterUpdate, raw);
  if (patch.query !== undefined) checkQuery(patch.query);
  return lockOf(api).run('targetfilters', async () => {
    if (patch.name !== undefined && patch.name !== filter.name) {
      const other = await api.service.collection(TARGET_FILTERS).findBy('name', patch.name);
      if (other && other.id !== filter.id) throw alreadyExists();
    }
    const updated = await save(api, filter, {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.query !== undefined ? { query: patch.query } : {}),
    });
    // A target may match the new query: auto-assignment looks again.
    if (updated.autoAssign) api.rollouts.autoAssignSoon();
    return { status: 200, body: filterJson(request.base, updated) };
  });
}

export async function deleteTargetFilter(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const filter = await requireFilter(api, request.params.filterId);
  await api.service.collection(TARGET_FILTERS).delete(filter.id);
  return { status: 204 };
}

/** The auto-assigned set: 204 when the filter has none, as hawkBit. */
export async function getAutoAssignSet(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const filter = await requireFilter(api, request.params.filterId);
  const set =
    filter.autoAssign &&
    (await api.service.getDistributionSet(filter.autoAssign.distributionSetId));
  if (!set) return { status: 204 };
  return { status: 200, body: await setJson(api, request.base, set, true) };
}

/** Sets the auto-assignment: every matching target gets the set, now and when it matches later. */
export async function setAutoAssignSet(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const raw = await objectBody(request);
  const filter = await requireFilter(api, request.params.filterId);
  const body = check(AutoAssignBody, raw);
  const set = await requireSet(api, body.id);
  await requireAssignable(api, set);
  const updated = await save(api, filter, {
    autoAssign: {
      distributionSetId: set.id,
      actionType: body.type ?? 'forced',
      confirmationRequired:
        body.confirmationRequired ?? api.settings.get('user.confirmation.flow.enabled'),
      ...(body.weight !== undefined ? { weight: body.weight } : {}),
    },
  });
  api.rollouts.autoAssignSoon();
  return { status: 200, body: filterJson(request.base, updated) };
}

export async function removeAutoAssignSet(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const filter = await requireFilter(api, request.params.filterId);
  const { autoAssign: _removed, ...rest } = filter;
  const next: TargetFilterRecord = {
    ...rest,
    revision: filter.revision + 1,
    lastModifiedAt: Date.now(),
    lastModifiedBy: api.user,
  };
  await api.service.collection(TARGET_FILTERS).put(next, filter.revision);
  return { status: 204 };
}

const one = '/targetfilters/:filterId';

/** hawkBit's 8 target-filter endpoints. */
export const targetFilterRoutes: Route[] = [
  { method: 'GET', path: '/targetfilters', endpoint: listTargetFilters, query: LIST_QUERY },
  {
    method: 'POST',
    path: '/targetfilters',
    endpoint: createTargetFilter,
    body: { schema: TargetFilterBody },
  },
  { method: 'GET', path: one, endpoint: getTargetFilter },
  { method: 'PUT', path: one, endpoint: updateTargetFilter, body: { schema: TargetFilterUpdate } },
  { method: 'DELETE', path: one, endpoint: deleteTargetFilter },
  { method: 'GET', path: `${one}/autoAssignDS`, endpoint: getAutoAssignSet },
  {
    method: 'POST',
    path: `${one}/autoAssignDS`,
    endpoint: setAutoAssignSet,
    body: { schema: AutoAssignBody },
  },
  { method: 'DELETE', path: `${one}/autoAssignDS`, endpoint: removeAutoAssignSet },
];
