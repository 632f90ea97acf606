import type { DistributionSet } from '@otaflow/core';
import { storeListQuery } from '../query.js';
import { setListNames } from './fields.js';
import type { EndpointRequest, ManagementContext, Reply, Route } from './ManagementContext.js';
import { LIST_QUERY } from './openApiDocument.js';
import { alreadyExists, notFound } from './Problem.js';
import { quotaProblem, quotasOf } from './quotas.js';
import { assignmentJson, paged, setJson } from './representations.js';
import {
  arrayBody,
  check,
  DistributionSetCreate,
  DistributionSetUpdate,
  multiAssignmentProblem,
  objectBody,
  requireAssignable,
  requireCompatible,
  requireSet,
  stripUndefined,
  TargetAssignment,
  toAssignInput,
} from './requests.js';
import { fitModules, typeCatalogue } from './typeCatalogue.js';

/** `POST /distributionsets`: all or nothing; modules must fit the set's type. */
export async function createDistributionSets(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const list = (await arrayBody(request)).map((item) => check(DistributionSetCreate, item));
  const seen = new Set<string>();
  const fitted: number[][] = [];
  const types = await typeCatalogue(api.service, api.user);
  for (const s of list) {
    const typeKey = s.type ?? 'os_app';
    const maxModules = quotasOf(api).softwareModulesPerDistributionSet;
    if ((s.modules?.length ?? 0) > maxModules)
      throw quotaProblem('software modules', `distribution set ${s.name}:${s.version}`, maxModules);
    const modules = [];
    for (const { id } of s.modules ?? []) {
      const module = await api.service.getSoftwareModule(id);
      if (!module) throw notFound('SoftwareModule', id);
      modules.push(module);
    }
    fitted.push(fitModules(types, typeKey, modules).map((m) => m.id));
    // hawkBit's unique key is name + version (per tenant): one indexed lookup, not a listing.
    const key = `${s.name}\u0000${s.version}`;
    if (seen.has(key) || (await api.service.findDistributionSet(s.name, s.version))) {
      throw alreadyExists();
    }
    seen.add(key);
  }
  const created: DistributionSet[] = [];
  for (const [i, s] of list.entries()) {
    const { modules: _asked, ...rest } = s;
    created.push(
      await api.service.createDistributionSet({
        ...stripUndefined(rest),
        modules: fitted[i] ?? [],
      }),
    );
  }
  const body = [];
  for (const s of created) body.push(await setJson(api, request.base, s, false));
  return { status: 201, body };
}

export async function listDistributionSets(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const query = storeListQuery(request.query, setListNames, 'id:ASC');
  const page = await api.service.listDistributionSets(query);
  const content = [];
  for (const s of page.items) content.push(await setJson(api, request.base, s, false));
  return { status: 200, body: paged(content, page.total) };
}

export async function getDistributionSet(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const set = await requireSet(api, request.params.id);
  return { status: 200, body: await setJson(api, request.base, set, true) };
}

/**
 * `POST /distributionsets/{id}/assignedTargets`: one action per known target; unknown
 * controller ids are skipped silently and count nowhere, as in hawkBit.
 */
export async function assignTargetsToSet(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const set = await requireSet(api, request.params.id);
  const list = (await arrayBody(request)).map((item) => check(TargetAssignment, item));
  const maxTargets = quotasOf(api).targetsPerAssignment;
  if (list.length > maxTargets)
    throw quotaProblem('targets', `distribution set ${set.id} in one assignment`, maxTargets);
  await requireAssignable(api, set);
  const ids = new Set<string>();
  for (const a of list) {
    if (ids.has(a.id)) throw multiAssignmentProblem();
    ids.add(a.id);
  }
  const inputs = [];
  const known = [];
  for (const a of list) {
    const target = await api.service.getTarget(a.id);
    if (!target) continue;
    known.push(target);
    inputs.push(toAssignInput(api, a.id, a));
  }
  await requireCompatible(api, set, known);
  const result = await api.service.assign(set.id, inputs);
  return { status: 200, body: assignmentJson(request.base, result) };
}

/**
 * `PUT /distributionsets/{id}`: name, version, description, required migration step; a name +
 * version another set carries is 409.
 */
export async function updateDistributionSet(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const body = await objectBody(request);
  const set = await requireSet(api, request.params.id);
  const patch = check(DistributionSetUpdate, body);
  const name = patch.name ?? set.name;
  const version = patch.version ?? set.version;
  if (name !== set.name || version !== set.version) {
    const other = await api.service.findDistributionSet(name, version);
    if (other && other.id !== set.id) throw alreadyExists();
  }
  const { locked, ...fields } = patch;
  let updated = await api.service.updateDistributionSet(set.id, stripUndefined(fields));
  // hawkBit 0.10+: `locked` locks (its modules too) or unlocks the set by hand.
  if (locked !== undefined && locked !== (updated.locked === true)) {
    if (locked) await requireAssignable(api, updated);
    updated = await api.service.lockDistributionSet(set.id, locked);
  }
  return { status: 200, body: await setJson(api, request.base, updated, true) };
}

export const distributionSetRoutes: Route[] = [
  {
    method: 'PUT',
    path: '/distributionsets/:id',
    endpoint: updateDistributionSet,
    body: { schema: DistributionSetUpdate },
  },
  {
    method: 'POST',
    path: '/distributionsets',
    endpoint: createDistributionSets,
    body: { schema: DistributionSetCreate, array: true },
  },
  { method: 'GET', path: '/distributionsets', endpoint: listDistributionSets, query: LIST_QUERY },
  { method: 'GET', path: '/distributionsets/:id', endpoint: getDistributionSet },
  {
    method: 'POST',
    path: '/distributionsets/:id/assignedTargets',
    endpoint: assignTargetsToSet,
    body: { schema: TargetAssignment, array: true },
  },
];
