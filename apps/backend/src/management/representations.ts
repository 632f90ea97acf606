import {
  type ActionView,
  type Artifact,
  type DistributionSet,
  type SoftwareModule,
  type StatusEntry,
  TARGET_TYPES,
  type TargetView,
  type UpdateService,
} from '@otaflow/core';
import type { ManagementContext } from './ManagementContext.js';
import { isComplete, type TypeCatalogue, typeCatalogue } from './typeCatalogue.js';

// hawkBit's HAL JSON: field order, `_links` and lower-case enums as hawkBit writes them. `full`
// is the single-entity representation; lists carry only `self`.

export const MGMT_BASE = '/rest/v1';

type Json = Record<string, unknown>;

function audit(api: ManagementContext, createdAt: number, lastModifiedAt: number): Json {
  return { createdBy: api.user, createdAt, lastModifiedBy: api.user, lastModifiedAt };
}

/** hawkBit's page: `content`, the filtered `total`, and the page's `size`. */
export function paged(items: unknown[], total: number): Json {
  return { content: items, total, size: items.length };
}

/** The host of a target's address, which hawkBit shows as `ipAddress`. */
export function ipOf(address: string | undefined): string | undefined {
  if (!address) return undefined;
  try {
    const url = new URL(address);
    if (url.protocol === 'amqp:' || url.hostname === '***' || !url.hostname) return undefined;
    return url.hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

export function targetHref(base: string, controllerId: string): string {
  return `${base}${MGMT_BASE}/targets/${encodeURIComponent(controllerId)}`;
}

export function targetJson(
  api: ManagementContext,
  base: string,
  t: TargetView,
  full: boolean,
  /** Target type names by id, where the caller has them (hawkBit's `targetTypeName`). */
  targetTypeNames?: ReadonlyMap<number, string>,
): Json {
  const self = targetHref(base, t.controllerId);
  const body: Json = { ...audit(api, t.createdAt, t.lastModifiedAt), name: t.name };
  if (t.description !== undefined) body.description = t.description;
  body.controllerId = t.controllerId;
  if (t.group !== undefined) body.group = t.group;
  body.updateStatus = t.updateStatus.toLowerCase();
  if (t.lastContactAt !== undefined) body.lastControllerRequestAt = t.lastContactAt;
  if (t.installedAt !== undefined) body.installedAt = t.installedAt;
  const ip = ipOf(t.address);
  if (ip !== undefined) body.ipAddress = ip;
  if (t.address !== undefined) body.address = t.address;
  if (t.lastContactAt !== undefined) {
    const polling = api.pollingTimeMs;
    const next = t.lastContactAt + polling;
    body.pollStatus = {
      lastRequestAt: t.lastContactAt,
      nextExpectedRequestAt: next,
      overdue: api.service.now() > next + api.pollingOverdueTimeMs,
    };
  }
  body.securityToken = t.securityToken;
  body.requestAttributes = t.requestAttributes;
  if (t.targetType !== undefined) {
    body.targetType = t.targetType;
    const typeName = targetTypeNames?.get(t.targetType);
    if (typeName !== undefined) body.targetTypeName = typeName;
  }
  if (t.channel !== undefined) body.channel = t.channel;
  body._links = full
    ? {
        self: { href: self },
        assignedDS: { href: `${self}/assignedDS` },
        installedDS: { href: `${self}/installedDS` },
        attributes: { href: `${self}/attributes` },
        actions: { href: `${self}/actions?offset=0&limit=50&sort=id%3ADESC` },
        metadata: { href: `${self}/metadata?offset=0&limit=50` },
        ...(t.targetType !== undefined
          ? { targetType: { href: `${base}${MGMT_BASE}/targettypes/${t.targetType}` } }
          : {}),
      }
    : { self: { href: self } };
  return body;
}

/** Target type names by id, for `targetTypeName` in target JSON. */
export async function targetTypeNames(api: ManagementContext): Promise<Map<number, string>> {
  const page = await api.service.collection(TARGET_TYPES).list();
  return new Map(page.items.map((t) => [t.id, t.name]));
}

export function moduleJson(
  api: ManagementContext,
  base: string,
  m: SoftwareModule,
  full: boolean,
  types: TypeCatalogue,
): Json {
  const self = `${base}${MGMT_BASE}/softwaremodules/${m.id}`;
  const type = types.moduleType(m.type);
  const body: Json = { ...audit(api, m.createdAt, m.lastModifiedAt), id: m.id, name: m.name };
  if (m.description !== undefined) body.description = m.description;
  body.version = m.version;
  body.type = m.type;
  body.typeName = type?.name ?? m.type;
  if (m.vendor !== undefined) body.vendor = m.vendor;
  Object.assign(body, {
    encrypted: m.encrypted,
    locked: m.locked === true,
    deleted: m.deleted === true,
    complete: true,
  });
  body._links = full
    ? {
        self: { href: self },
        artifacts: { href: `${self}/artifacts` },
        type: { href: `${base}${MGMT_BASE}/softwaremoduletypes/${type?.id ?? 0}` },
        metadata: { href: `${self}/metadata?offset=0&limit=50` },
      }
    : { self: { href: self } };
  return body;
}

export async function setJson(
  api: ManagementContext,
  base: string,
  set: DistributionSet,
  full: boolean,
): Promise<Json> {
  const self = `${base}${MGMT_BASE}/distributionsets/${set.id}`;
  const [modules, types] = await Promise.all([
    api.service.modulesOf(set),
    typeCatalogue(api.service, api.user),
  ]);
  const type = types.setType(set.type);
  const body: Json = {
    ...audit(api, set.createdAt, set.lastModifiedAt),
    id: set.id,
    name: set.name,
  };
  if (set.description !== undefined) body.description = set.description;
  Object.assign(body, {
    version: set.version,
    type: set.type,
    typeName: type?.name ?? set.type,
    locked: set.locked === true,
    deleted: set.deleted === true,
    valid: set.valid !== false,
    requiredMigrationStep: set.requiredMigrationStep,
    complete: isComplete(types, set, modules),
    modules: modules.map((m) => moduleJson(api, base, m, false, types)),
  });
  body._links = full
    ? {
        self: { href: self },
        modules: { href: `${self}/assignedSM?offset=0&limit=50` },
        type: { href: `${base}${MGMT_BASE}/distributionsettypes/${type?.id ?? 0}` },
        metadata: { href: `${self}/metadata?offset=0&limit=50` },
      }
    : { self: { href: self } };
  return body;
}

export function artifactJson(
  api: ManagementContext,
  base: string,
  moduleId: number,
  a: Artifact,
  withDownload: boolean,
): Json {
  const self = `${base}${MGMT_BASE}/softwaremodules/${moduleId}/artifacts/${a.id}`;
  const links: Record<string, { href: string }> = { self: { href: self } };
  if (withDownload) links.download = { href: `${self}/download` };
  return {
    ...audit(api, a.createdAt, a.createdAt),
    id: a.id,
    hashes: { sha1: a.hashes.sha1, md5: a.hashes.md5, sha256: a.hashes.sha256 },
    providedFilename: a.filename,
    size: a.size,
    _links: links,
  };
}

export function actionHref(base: string, a: Pick<ActionView, 'controllerId' | 'id'>): string {
  return `${targetHref(base, a.controllerId)}/actions/${a.id}`;
}

export async function actionJson(
  api: ManagementContext,
  base: string,
  a: ActionView,
  full: boolean,
): Promise<Json> {
  const body: Json = {
    ...audit(api, a.createdAt, a.lastModifiedAt),
    id: a.id,
    type: a.status === 'CANCELING' || a.status === 'CANCELED' ? 'cancel' : 'update',
    active: a.active,
    status: a.status.toLowerCase(),
    forceType: a.type,
  };
  if (a.type === 'timeforced' && a.forcedTime !== undefined) body.forceTime = a.forcedTime;
  body.weight = a.weight;
  if (a.maintenanceWindow) body.maintenanceWindow = { ...a.maintenanceWindow };
  if (a.lastStatusCode !== undefined) body.lastStatusCode = a.lastStatusCode;
  const self = actionHref(base, a);
  if (!full) {
    body._links = { self: { href: self } };
    return body;
  }
  const target = await api.service.getTarget(a.controllerId);
  const links: Record<string, { href: string; name?: string }> = {
    self: { href: self },
    target: { href: targetHref(base, a.controllerId), name: target?.name ?? a.controllerId },
    distributionset: {
      href: `${base}${MGMT_BASE}/distributionsets/${a.distributionSetId}`,
      name: `${a.distributionSetName}:${a.distributionSetVersion}`,
    },
    status: { href: `${self}/status?offset=0&limit=50&sort=id%3ADESC` },
  };
  if (a.status === 'CANCELING' || a.status === 'CANCELED') links.canceledaction = { href: self };
  body._links = links;
  return body;
}

/** A status entry with its position in the action's history, which stands in for hawkBit's id. */
export type NumberedStatusEntry = StatusEntry & { id: number };

export function statusEntryJson(e: NumberedStatusEntry): Json {
  const out: Json = {
    id: e.id,
    type: e.status.toLowerCase(),
    messages: e.messages ?? [],
    reportedAt: e.at,
    timestamp: e.at,
  };
  if (e.code !== undefined) out.code = e.code;
  return out;
}

export function assignmentJson(
  base: string,
  result: Awaited<ReturnType<UpdateService['assign']>>,
): Json {
  return {
    alreadyAssigned: result.alreadyAssigned,
    assignedActions: result.actions.map((a) => ({
      id: a.id,
      _links: { self: { href: actionHref(base, a) } },
    })),
    assigned: result.assigned,
    total: result.total,
  };
}
