import { METADATA, metadataScope, type SoftwareModule } from '@otaflow/core';
import { storeListQuery } from '../query.js';
import { moduleListNames } from './fields.js';
import type { EndpointRequest, ManagementContext, Reply, Route } from './ManagementContext.js';
import { LIST_QUERY } from './openApiDocument.js';
import { alreadyExists, hawkbitProblem, notFound } from './Problem.js';
import { moduleJson, paged } from './representations.js';
import {
  arrayBody,
  check,
  objectBody,
  requireModule,
  SoftwareModuleCreate,
  SoftwareModuleUpdate,
  stripUndefined,
} from './requests.js';
import { typeCatalogue } from './typeCatalogue.js';

/** `POST /softwaremodules`: all or nothing; (type, name, version) is unique. */
export async function createSoftwareModules(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const list = (await arrayBody(request)).map((item) => check(SoftwareModuleCreate, item));
  const seen = new Set<string>();
  const types = await typeCatalogue(api.service, api.user);
  for (const m of list) {
    const type = types.moduleType(m.type);
    if (!type || type.deleted) throw notFound('SoftwareModuleType', m.type);
    if (m.encrypted)
      throw hawkbitProblem(
        400,
        'constraint',
        'encrypted: artifact encryption is not supported by this server.',
      );
    const key = `${m.type}\u0000${m.name}\u0000${m.version}`;
    if (seen.has(key) || (await api.service.findSoftwareModule(m.type, m.name, m.version))) {
      throw alreadyExists();
    }
    seen.add(key);
  }
  const created: SoftwareModule[] = [];
  for (const m of list) created.push(await api.service.createSoftwareModule(stripUndefined(m)));
  return {
    status: 201,
    body: created.map((m) => moduleJson(api, request.base, m, false, types)),
  };
}

export async function listSoftwareModules(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const query = storeListQuery(request.query, moduleListNames, 'id:ASC');
  const [page, types] = await Promise.all([
    api.service.listSoftwareModules(query),
    typeCatalogue(api.service, api.user),
  ]);
  const content = page.items.map((m) => moduleJson(api, request.base, m, false, types));
  return { status: 200, body: paged(content, page.total) };
}

export async function getSoftwareModule(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const module = await requireModule(api, request.params.id);
  const types = await typeCatalogue(api.service, api.user);
  return { status: 200, body: moduleJson(api, request.base, module, true, types) };
}

/** `PUT /softwaremodules/{id}`: description and vendor (the body first: 415/400 before 404). */
export async function updateSoftwareModule(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const body = await objectBody(request);
  const module = await requireModule(api, request.params.id);
  const patch = check(SoftwareModuleUpdate, body);
  const updated = await api.service.updateSoftwareModule(module.id, stripUndefined(patch));
  const types = await typeCatalogue(api.service, api.user);
  return { status: 200, body: moduleJson(api, request.base, updated, true, types) };
}

/**
 * `DELETE /softwaremodules/{id}`: soft while a set uses it (kept, marked deleted, in no new set),
 * else for good with its artifacts' bytes and its metadata.
 */
export async function deleteSoftwareModule(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const module = await requireModule(api, request.params.id);
  if ((await api.service.deleteSoftwareModule(module.id)) === 'hard') {
    for (const a of module.artifacts) await api.artifacts.delete(module.id, a.filename);
    await api.service.collection(METADATA).deleteScope(metadataScope.softwareModule(module.id));
  }
  return { status: 204 };
}

export const softwareModuleRoutes: Route[] = [
  { method: 'DELETE', path: '/softwaremodules/:id', endpoint: deleteSoftwareModule },
  {
    method: 'PUT',
    path: '/softwaremodules/:id',
    endpoint: updateSoftwareModule,
    body: { schema: SoftwareModuleUpdate },
  },
  {
    method: 'POST',
    path: '/softwaremodules',
    endpoint: createSoftwareModules,
    body: { schema: SoftwareModuleCreate, array: true },
  },
  { method: 'GET', path: '/softwaremodules', endpoint: listSoftwareModules, query: LIST_QUERY },
  { method: 'GET', path: '/softwaremodules/:id', endpoint: getSoftwareModule },
];
