import { DISTRIBUTION_SET_TYPES, SOFTWARE_MODULE_TYPES } from './defaultTypes.js';
import type { EndpointRequest, ManagementContext, Reply, Route } from './ManagementContext.js';
import { MGMT_BASE, paged } from './representations.js';

function audit(api: ManagementContext) {
  return { createdBy: api.user, createdAt: 0, lastModifiedBy: api.user, lastModifiedAt: 0 };
}

/** `GET /softwaremoduletypes`: hawkBit's defaults (os, application), fixed. */
export async function listSoftwareModuleTypes(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const all = Object.entries(SOFTWARE_MODULE_TYPES).map(([key, t]) => ({
    ...audit(api),
    id: t.id,
    name: t.name,
    description: t.description,
    key,
    maxAssignments: t.maxAssignments,
    minArtifacts: 0,
    deleted: false,
    _links: { self: { href: `${request.base}${MGMT_BASE}/softwaremoduletypes/${t.id}` } },
  }));
  return { status: 200, body: paged(all, all.length) };
}

/** `GET /distributionsettypes`: hawkBit's defaults (os, app, os_app), fixed. */
export async function listDistributionSetTypes(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const all = Object.entries(DISTRIBUTION_SET_TYPES).map(([key, t]) => {
    const self = `${request.base}${MGMT_BASE}/distributionsettypes/${t.id}`;
    return {
      ...audit(api),
      id: t.id,
      name: t.name,
      description: t.description,
      key,
      deleted: false,
      _links: {
        self: { href: self },
        mandatorymodules: { href: `${self}/mandatorymoduletypes` },
        optionalmodules: { href: `${self}/optionalmoduletypes` },
      },
    };
  });
  return { status: 200, body: paged(all, all.length) };
}

export const typeRoutes: Route[] = [
  { method: 'GET', path: '/softwaremoduletypes', endpoint: listSoftwareModuleTypes },
  { method: 'GET', path: '/distributionsettypes', endpoint: listDistributionSetTypes },
];
