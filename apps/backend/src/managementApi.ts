import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ActionType,
  type ActionView,
  type Artifact,
  ControllerId,
  type DistributionSet,
  MaintenanceWindow,
  OtaflowError,
  type SoftwareModule,
  type StatusEntry,
  TargetChannel,
  type TargetView,
  type UpdateService,
  Weight,
} from '@otaflow/core';
import { z } from 'zod';
import type { ArtifactStore, StagedArtifact } from './ArtifactStore.js';
import { BackendError } from './BackendError.js';
import { bootError, type HttpHandler, readBody, requestBase, sendEmpty, sendJson } from './http.js';
import type { Logger } from './logger.js';
import { boundaryOf, readMultipart } from './multipart.js';
import { type FieldMap, QueryError, queryList } from './query.js';

export interface ManagementApiOptions {
  service: UpdateService;
  artifacts: ArtifactStore;
  /** Basic-auth credentials (hawkBit's default user is admin/admin). */
  user: string;
  password: string;
  tenant: string;
  /** Base of the absolute `_links` hrefs; the request's Host when unset. */
  publicUrl?: string;
  /** Largest artifact upload (hawkBit: 1 GiB); above it the answer is 429. */
  maxArtifactBytes?: number;
  /** Polling interval the DDI side announces, for `pollStatus` (hawkBit: 5 min). */
  pollingTimeMs?: number;
  logger?: Logger;
}

export const MGMT_BASE = '/rest/v1';
const MAX_JSON_BYTES = 4 * 1024 * 1024;

// ------------------------------------------------------------------ hawkBit's default types

/** hawkBit's default software module types of a new tenant (there is no `runtime` type). */
const SM_TYPES: Record<
  string,
  { id: number; name: string; description: string; maxAssignments: number }
> = {
  os: { id: 1, name: 'OS', description: 'Core firmware or operating system', maxAssignments: 1 },
  application: {
    id: 2,
    name: 'Application',
    description: 'Application Addons',
    maxAssignments: 2147483647,
  },
};

/** hawkBit's default distribution set types; `os_app` is the tenant default. */
const DS_TYPES: Record<
  string,
  { id: number; name: string; description: string; mandatory: string[]; optional: string[] }
> = {
  os: {
    id: 1,
    name: 'OS only',
    description: 'Default type with Firmware/OS only.',
    mandatory: ['os'],
    optional: [],
  },
  app: {
    id: 2,
    name: 'App(s) only',
    description: 'Default type with app(s) only.',
    mandatory: ['application'],
    optional: [],
  },
  os_app: {
    id: 3,
    name: 'OS with app(s)',
    description: 'Default type with Firmware/OS and optional app(s).',
    mandatory: ['os'],
    optional: ['application'],
  },
};

// ------------------------------------------------------------------ errors in hawkBit's form

const ERR = {
  notFound: [
    'hawkbit.server.error.repo.entityNotFound',
    'org.eclipse.hawkbit.repository.exception.EntityNotFoundException',
  ],
  exists: [
    'hawkbit.server.error.repo.entityAlreadyExists',
    'org.eclipse.hawkbit.repository.exception.EntityAlreadyExistsException',
  ],
  notReadable: [
    'hawkbit.server.error.rest.body.notReadable',
    'org.eclipse.hawkbit.rest.exception.MessageNotReadableException',
  ],
  constraint: [
    'hawkbit.server.error.repo.constraintViolation',
    'jakarta.validation.ConstraintViolationException',
  ],
  notCancelable: [
    'hawkbit.server.error.action.notCancelable',
    'org.eclipse.hawkbit.repository.exception.CancelActionNotAllowedException',
  ],
  notForceQuitable: [
    'hawkbit.server.error.action.notForceQuitable',
    'org.eclipse.hawkbit.repository.exception.ForceQuitActionNotAllowedException',
  ],
  incomplete: [
    'hawkbit.server.error.distributionset.incomplete',
    'org.eclipse.hawkbit.repository.exception.IncompleteDistributionSetException',
  ],
  unsupportedModule: [
    'hawkbit.server.error.distributionset.modules.unsupported',
    'org.eclipse.hawkbit.repository.exception.UnsupportedSoftwareModuleForThisDistributionSetException',
  ],
  maintenance: [
    'hawkbit.server.error.maintenanceScheduleInvalid',
    'org.eclipse.hawkbit.repository.exception.InvalidMaintenanceScheduleException',
  ],
  multiAssignment: [
    'hawkbit.server.error.multiAssignmentNotEnabled',
    'org.eclipse.hawkbit.repository.exception.MultiAssignmentIsNotEnabledException',
  ],
  uploadFailed: [
    'hawkbit.server.error.artifact.uploadFailed',
    'org.eclipse.hawkbit.repository.exception.ArtifactUploadFailedException',
  ],
  fileSize: [
    'hawkbit.server.error.quota.fileSizeExceeded',
    'org.eclipse.hawkbit.repository.exception.FileSizeQuotaExceededException',
  ],
  concurrent: [
    'hawkbit.server.error.repo.concurrentModification',
    'org.eclipse.hawkbit.repository.exception.ConcurrentModificationException',
  ],
  param: ['', 'org.eclipse.hawkbit.rest.exception.SortParameterSyntaxErrorException'],
} as const;

/** An answer that ends a request early; thrown by handlers, written by the dispatcher. */
class Problem {
  constructor(
    readonly status: number,
    readonly body?: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
    /** Spring-level errors use Boot's body; hawkBit's own use ExceptionInfo. */
    readonly boot = false,
  ) {}
}

function hawkbit(
  status: number,
  kind: readonly [string, string],
  message: string,
  info?: Record<string, unknown>,
): Problem {
  const body: Record<string, unknown> = { exceptionClass: kind[1], errorCode: kind[0], message };
  if (info) body.info = info;
  return new Problem(status, body);
}

const notFound = (type: string, id: string | number) =>
  hawkbit(404, ERR.notFound, `${type} with given identifier {${id}} does not exist.`, {
    type,
    entityId: String(id),
  });
const boot = (status: number, headers: Record<string, string> = {}) =>
  new Problem(status, undefined, headers, true);
const emptyStatus = (status: number) => new Problem(status);

function constraintViolation(error: z.ZodError): Problem {
  const message = error.issues.map((i) => `${i.path.join('.') || 'body'} ${i.message}.`).join(', ');
  return hawkbit(400, ERR.constraint, message);
}

function fromCore(error: unknown): Problem | undefined {
  if (!(error instanceof OtaflowError)) return undefined;
  const details = error.message;
  switch (error.code) {
    case 'TARGET_NOT_FOUND':
      return hawkbit(404, ERR.notFound, details, { type: 'Target' });
    case 'ACTION_NOT_FOUND':
      return hawkbit(404, ERR.notFound, details, { type: 'Action' });
    case 'DISTRIBUTION_SET_NOT_FOUND':
      return hawkbit(404, ERR.notFound, details, { type: 'DistributionSet' });
    case 'SOFTWARE_MODULE_NOT_FOUND':
      return hawkbit(404, ERR.notFound, details, { type: 'SoftwareModule' });
    case 'TARGET_EXISTS':
      return hawkbit(409, ERR.exists, 'The given entity already exists in database');
    case 'CONFLICT':
      return hawkbit(409, ERR.concurrent, details);
    case 'INVALID_INPUT':
      return hawkbit(400, ERR.constraint, details);
    default:
      return undefined;
  }
}

// ------------------------------------------------------------------ request schemas

/** hawkBit spells enums lower-case; upper-case is accepted here too. */
const LowerActionType = z.preprocess(
  (v) => (typeof v === 'string' ? v.toLowerCase() : v),
  ActionType,
);

const TargetCreate = z.object({
  controllerId: ControllerId,
  name: z.string().min(1).max(128).optional(),
  description: z.string().max(512).optional(),
  address: z.string().max(512).optional(),
  securityToken: z.string().min(1).max(128).optional(),
  targetType: z.number().int().optional(),
  /** otaflow extension: how the target is reached (see README); hawkBit ignores unknown fields. */
  channel: TargetChannel.optional(),
});

const TargetUpdate = z.object({
  name: z.string().min(1).max(128).optional(),
  description: z.string().max(512).optional(),
  address: z.string().max(512).optional(),
  securityToken: z.string().min(1).max(128).optional(),
  requestAttributes: z.boolean().optional(),
  targetType: z.number().int().optional(),
  channel: TargetChannel.optional(),
});

const SoftwareModuleCreate = z.object({
  name: z.string().min(1).max(128),
  version: z.string().min(1).max(64),
  type: z.string().min(1).max(64),
  description: z.string().max(512).optional(),
  vendor: z.string().max(256).optional(),
  encrypted: z.boolean().optional(),
});

const DistributionSetCreate = z.object({
  name: z.string().min(1).max(128),
  version: z.string().min(1).max(64),
  description: z.string().max(512).optional(),
  type: z.string().min(1).max(64).optional(),
  modules: z.array(z.object({ id: z.number().int() })).optional(),
  requiredMigrationStep: z.boolean().optional(),
});

const WindowRequest = z.object({
  schedule: z.string().optional(),
  duration: z.string().optional(),
  timezone: z.string().optional(),
});

const assignmentFields = {
  type: LowerActionType.optional(),
  forcetime: z.number().int().nonnegative().optional(),
  weight: Weight.optional(),
  confirmationRequired: z.boolean().optional(),
  maintenanceWindow: WindowRequest.optional(),
};
const DsAssignment = z.object({ id: z.number().int(), ...assignmentFields });
const TargetAssignment = z.object({ id: z.string().min(1), ...assignmentFields });

// ------------------------------------------------------------------ the API

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
  base: string;
  contentType: string;
}

type Route = { method: string; pattern: RegExp; run: (ctx: Ctx) => Promise<void> };

/**
 * The hawkBit Management API v1 subset under `/rest/v1`, with hawkBit's paths, JSON shapes,
 * `_links`, status codes and error bodies, over an `UpdateService` (all state lives there and in
 * the artifact store; this object keeps none of its own).
 */
export function createManagementApi(options: ManagementApiOptions): HttpHandler {
  const { service, artifacts } = options;
  const log = options.logger;
  const polling = options.pollingTimeMs ?? 5 * 60_000;
  const maxArtifactBytes = options.maxArtifactBytes ?? 1024 * 1024 * 1024;
  const expected = Buffer.from(`${options.user}:${options.password}`);

  // ---------------------------------------------------------------- representations

  const base = (createdAt: number, lastModifiedAt: number) => ({
    createdBy: options.user,
    createdAt,
    lastModifiedBy: options.user,
    lastModifiedAt,
  });

  const targetJson = (ctx: Ctx, t: TargetView, full: boolean) => {
    const self = `${ctx.base}${MGMT_BASE}/targets/${encodeURIComponent(t.controllerId)}`;
    const body: Record<string, unknown> = { ...base(t.createdAt, t.lastModifiedAt), name: t.name };
    if (t.description !== undefined) body.description = t.description;
    body.controllerId = t.controllerId;
    body.updateStatus = t.updateStatus.toLowerCase();
    if (t.lastContactAt !== undefined) body.lastControllerRequestAt = t.lastContactAt;
    if (t.installedAt !== undefined) body.installedAt = t.installedAt;
    const ip = ipOf(t.address);
    if (ip !== undefined) body.ipAddress = ip;
    if (t.address !== undefined) body.address = t.address;
    if (t.lastContactAt !== undefined) {
      const next = t.lastContactAt + polling;
      body.pollStatus = {
        lastRequestAt: t.lastContactAt,
        nextExpectedRequestAt: next,
        overdue: service.now() > next + polling,
      };
    }
    body.securityToken = t.securityToken;
    body.requestAttributes = t.requestAttributes;
    if (t.channel !== undefined) body.channel = t.channel;
    body._links = full
      ? {
          self: { href: self },
          assignedDS: { href: `${self}/assignedDS` },
          installedDS: { href: `${self}/installedDS` },
          attributes: { href: `${self}/attributes` },
          actions: { href: `${self}/actions?offset=0&limit=50&sort=id%3ADESC` },
          metadata: { href: `${self}/metadata?offset=0&limit=50` },
        }
      : { self: { href: self } };
    return body;
  };

  const moduleJson = (ctx: Ctx, m: SoftwareModule, full: boolean) => {
    const self = `${ctx.base}${MGMT_BASE}/softwaremodules/${m.id}`;
    const type = SM_TYPES[m.type];
    const body: Record<string, unknown> = {
      ...base(m.createdAt, m.lastModifiedAt),
      id: m.id,
      name: m.name,
    };
    if (m.description !== undefined) body.description = m.description;
    body.version = m.version;
    body.type = m.type;
    body.typeName = type?.name ?? m.type;
    if (m.vendor !== undefined) body.vendor = m.vendor;
    Object.assign(body, { encrypted: m.encrypted, locked: false, deleted: false, complete: true });
    body._links = full
      ? {
          self: { href: self },
          artifacts: { href: `${self}/artifacts` },
          type: { href: `${ctx.base}${MGMT_BASE}/softwaremoduletypes/${type?.id ?? 0}` },
          metadata: { href: `${self}/metadata?offset=0&limit=50` },
        }
      : { self: { href: self } };
    return body;
  };

  const isComplete = (set: DistributionSet, modules: SoftwareModule[]) => {
    const type = DS_TYPES[set.type];
    if (!type || modules.length === 0) return false;
    return type.mandatory.every((t) => modules.some((m) => m.type === t));
  };

  const setJson = async (ctx: Ctx, set: DistributionSet, full: boolean) => {
    const self = `${ctx.base}${MGMT_BASE}/distributionsets/${set.id}`;
    const modules = await service.modulesOf(set);
    const type = DS_TYPES[set.type];
    const body: Record<string, unknown> = {
      ...base(set.createdAt, set.lastModifiedAt),
      id: set.id,
      name: set.name,
    };
    if (set.description !== undefined) body.description = set.description;
    Object.assign(body, {
      version: set.version,
      type: set.type,
      typeName: type?.name ?? set.type,
      locked: false,
      deleted: false,
      valid: true,
      requiredMigrationStep: set.requiredMigrationStep,
      complete: isComplete(set, modules),
      modules: modules.map((m) => moduleJson(ctx, m, false)),
    });
    body._links = full
      ? {
          self: { href: self },
          modules: { href: `${self}/assignedSM?offset=0&limit=50` },
          type: { href: `${ctx.base}${MGMT_BASE}/distributionsettypes/${type?.id ?? 0}` },
          metadata: { href: `${self}/metadata?offset=0&limit=50` },
        }
      : { self: { href: self } };
    return body;
  };

  const artifactJson = (ctx: Ctx, moduleId: number, a: Artifact, withDownload: boolean) => {
    const self = `${ctx.base}${MGMT_BASE}/softwaremodules/${moduleId}/artifacts/${a.id}`;
    const links: Record<string, { href: string }> = { self: { href: self } };
    if (withDownload) links.download = { href: `${self}/download` };
    return {
      ...base(a.createdAt, a.createdAt),
      id: a.id,
      hashes: { sha1: a.hashes.sha1, md5: a.hashes.md5, sha256: a.hashes.sha256 },
      providedFilename: a.filename,
      size: a.size,
      _links: links,
    };
  };

  const actionHref = (ctx: Ctx, a: ActionView) =>
    `${ctx.base}${MGMT_BASE}/targets/${encodeURIComponent(a.controllerId)}/actions/${a.id}`;

  const actionJson = async (ctx: Ctx, a: ActionView, full: boolean) => {
    const body: Record<string, unknown> = {
      ...base(a.createdAt, a.lastModifiedAt),
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
    const self = actionHref(ctx, a);
    if (!full) {
      body._links = { self: { href: self } };
      return body;
    }
    const target = await service.getTarget(a.controllerId);
    const links: Record<string, { href: string; name?: string }> = {
      self: { href: self },
      target: {
        href: `${ctx.base}${MGMT_BASE}/targets/${encodeURIComponent(a.controllerId)}`,
        name: target?.name ?? a.controllerId,
      },
      distributionset: {
        href: `${ctx.base}${MGMT_BASE}/distributionsets/${a.distributionSetId}`,
        name: `${a.distributionSetName}:${a.distributionSetVersion}`,
      },
      status: { href: `${self}/status?offset=0&limit=50&sort=id%3ADESC` },
    };
    if (a.status === 'CANCELING' || a.status === 'CANCELED') links.canceledaction = { href: self };
    body._links = links;
    return body;
  };

  // ---------------------------------------------------------------- sortable/filterable fields

  const targetFields: FieldMap<TargetView> = {
    id: (t) => t.controllerId,
    controllerId: (t) => t.controllerId,
    name: (t) => t.name,
    description: (t) => t.description,
    updateStatus: (t) => t.updateStatus.toLowerCase(),
    createdAt: (t) => t.createdAt,
    lastModifiedAt: (t) => t.lastModifiedAt,
    lastControllerRequestAt: (t) => t.lastContactAt,
    address: (t) => t.address,
    ipAddress: (t) => ipOf(t.address),
    channel: (t) => t.channel,
  };
  const withAttributes = (fields: FieldMap<TargetView>, q: string | null): FieldMap<TargetView> => {
    if (!q) return fields;
    const extra: FieldMap<TargetView> = { ...fields };
    for (const m of q.matchAll(/attribute\.([A-Za-z0-9_.-]+)/gi)) {
      const key = m[1] ?? '';
      extra[`attribute.${key}`] = (t) => t.attributes[key];
    }
    return extra;
  };
  const actionFields: FieldMap<ActionView> = {
    id: (a) => a.id,
    active: (a) => a.active,
    status: (a) => a.status.toLowerCase(),
    lastStatusCode: (a) => a.lastStatusCode,
    createdAt: (a) => a.createdAt,
    lastModifiedAt: (a) => a.lastModifiedAt,
    weight: (a) => a.weight,
    'target.controllerId': (a) => a.controllerId,
    'distributionSet.id': (a) => a.distributionSetId,
    'distributionSet.name': (a) => a.distributionSetName,
    'distributionSet.version': (a) => a.distributionSetVersion,
  };
  type Entry = StatusEntry & { id: number };
  const statusFields: FieldMap<Entry> = {
    id: (e) => e.id,
    timestamp: (e) => e.at,
    reportedAt: (e) => e.at,
    createdAt: (e) => e.at,
  };
  const moduleFields: FieldMap<SoftwareModule> = {
    id: (m) => m.id,
    name: (m) => m.name,
    version: (m) => m.version,
    type: (m) => m.type,
    vendor: (m) => m.vendor,
    description: (m) => m.description,
    createdAt: (m) => m.createdAt,
    lastModifiedAt: (m) => m.lastModifiedAt,
  };
  const setFields: FieldMap<DistributionSet> = {
    id: (s) => s.id,
    name: (s) => s.name,
    version: (s) => s.version,
    type: (s) => s.type,
    description: (s) => s.description,
    createdAt: (s) => s.createdAt,
    lastModifiedAt: (s) => s.lastModifiedAt,
  };

  // ---------------------------------------------------------------- helpers

  const send = (ctx: Ctx, status: number, body: unknown) =>
    sendJson(ctx.res, status, body, ctx.contentType);

  const jsonBody = async (ctx: Ctx): Promise<unknown> => {
    const type = (ctx.req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type !== 'application/json' && type !== 'application/hal+json') throw boot(415);
    let raw: Buffer;
    try {
      raw = await readBody(ctx.req, MAX_JSON_BYTES);
    } catch {
      throw boot(413, { Connection: 'close' });
    }
    if (raw.length === 0)
      throw hawkbit(400, ERR.notReadable, 'The given request body is not well formed');
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      throw hawkbit(400, ERR.notReadable, 'The given request body is not well formed');
    }
  };

  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);

  /** hawkBit 1.1 accepts a single object where an array is expected; anything else is unreadable. */
  const arrayBody = async (ctx: Ctx): Promise<unknown[]> => {
    const body = await jsonBody(ctx);
    const list = Array.isArray(body) ? body : isObject(body) ? [body] : undefined;
    if (!list?.every(isObject)) {
      throw hawkbit(400, ERR.notReadable, 'The given request body is not well formed');
    }
    return list;
  };

  const objectBody = async (ctx: Ctx): Promise<Record<string, unknown>> => {
    const body = await jsonBody(ctx);
    if (!isObject(body))
      throw hawkbit(400, ERR.notReadable, 'The given request body is not well formed');
    return body;
  };

  const check = <S extends z.ZodType>(schema: S, value: unknown): z.infer<S> => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw constraintViolation(parsed.error);
    return parsed.data;
  };

  const intParam = (raw: string | undefined, type: string): number => {
    const n = Number(raw);
    // Spring fails to convert a non-numeric path id before hawkBit sees it: Boot's 400.
    if (!raw || !/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw boot(400);
    if (n <= 0) throw notFound(type, raw);
    return n;
  };

  const requireTarget = async (id: string) => {
    const target = await service.getTarget(id);
    if (!target) throw notFound('Target', id);
    return target;
  };
  const requireModule = async (raw: string | undefined) => {
    const id = intParam(raw, 'SoftwareModule');
    const module = await service.store.getSoftwareModule(id);
    if (!module) throw notFound('SoftwareModule', id);
    return module;
  };
  const requireSet = async (raw: string | number | undefined) => {
    const id = typeof raw === 'number' ? raw : intParam(raw, 'DistributionSet');
    const set = await service.store.getDistributionSet(id);
    if (!set) throw notFound('DistributionSet', id);
    return set;
  };
  /** An action of another target is hawkBit's 404 with an empty body. */
  const requireActionOf = async (controllerId: string, raw: string | undefined) => {
    await requireTarget(controllerId);
    const id = intParam(raw, 'Action');
    const action = await service.getAction(id);
    if (!action) throw notFound('Action', id);
    if (action.controllerId !== controllerId) throw emptyStatus(404);
    return action;
  };

  const paged = (items: unknown[], total: number) => ({
    content: items,
    total,
    size: items.length,
  });

  const toAssignInput = (
    controllerId: string,
    a: z.infer<typeof DsAssignment> | z.infer<typeof TargetAssignment>,
  ) => {
    const input: Parameters<UpdateService['assign']>[1][number] = { controllerId };
    if (a.type !== undefined) input.type = a.type;
    if (a.weight !== undefined) input.weight = a.weight;
    if (a.forcetime !== undefined) input.forcedTime = a.forcetime;
    if (a.confirmationRequired !== undefined) input.confirmationRequired = a.confirmationRequired;
    if (a.maintenanceWindow) {
      const w = a.maintenanceWindow;
      const given = [w.schedule, w.duration, w.timezone].filter(
        (v) => v !== undefined && v !== '',
      ).length;
      if (given > 0) {
        const parsed = MaintenanceWindow.safeParse(w);
        if (given !== 3 || !parsed.success) {
          throw hawkbit(
            400,
            ERR.maintenance,
            'The maintenance schedule needs schedule, duration (HH:mm:ss) and timezone (+HH:mm)',
          );
        }
        input.maintenanceWindow = parsed.data;
      }
    }
    return input;
  };

  const assignable = async (set: DistributionSet) => {
    if (!isComplete(set, await service.modulesOf(set))) {
      throw hawkbit(
        400,
        ERR.incomplete,
        `Distribution set of type ${set.type} is incomplete: ${set.name}:${set.version}`,
      );
    }
  };

  const assignmentJson = (ctx: Ctx, result: Awaited<ReturnType<UpdateService['assign']>>) => ({
    alreadyAssigned: result.alreadyAssigned,
    assignedActions: result.actions.map((a) => ({
      id: a.id,
      _links: { self: { href: actionHref(ctx, a) } },
    })),
    assigned: result.assigned,
    total: result.total,
  });

  // ---------------------------------------------------------------- routes

  const routes: Route[] = [];
  const on = (method: string, path: string, run: (ctx: Ctx) => Promise<void>) => {
    const pattern = new RegExp(`^${path.replace(/:[a-z]+/gi, '([^/]+)')}$`);
    routes.push({ method, pattern, run });
  };

  on('GET', '/userinfo', async (ctx) => {
    send(ctx, 200, {
      tenant: options.tenant,
      username: options.user,
      permissions: ['TENANT_ADMIN'],
    });
  });

  // targets
  on('POST', '/targets', async (ctx) => {
    const list = (await arrayBody(ctx)).map((item) => check(TargetCreate, item));
    const seen = new Set<string>();
    for (const t of list) {
      if (t.targetType !== undefined) throw notFound('TargetType', t.targetType);
      if (seen.has(t.controllerId) || (await service.getTarget(t.controllerId))) {
        throw hawkbit(409, ERR.exists, 'The given entity already exists in database');
      }
      seen.add(t.controllerId);
    }
    const created: TargetView[] = [];
    for (const t of list) {
      const { targetType: _ignored, ...input } = t;
      created.push(await service.createTarget(stripUndefined(input)));
    }
    send(
      ctx,
      201,
      created.map((t) => targetJson(ctx, t, false)),
    );
  });
  on('GET', '/targets', async (ctx) => {
    const all = (await service.listTargets()).items;
    const q = ctx.url.searchParams.get('q');
    const page = queryList(
      all,
      ctx.url.searchParams,
      withAttributes(targetFields, q),
      'controllerId:ASC',
    );
    send(
      ctx,
      200,
      paged(
        page.items.map((t) => targetJson(ctx, t, false)),
        page.total,
      ),
    );
  });
  on('GET', '/targets/:id', async (ctx) => {
    send(ctx, 200, targetJson(ctx, await requireTarget(ctx.params[0]!), true));
  });
  on('PUT', '/targets/:id', async (ctx) => {
    const id = ctx.params[0]!;
    const body = await objectBody(ctx);
    await requireTarget(id);
    const patch = check(TargetUpdate, body);
    if (patch.requestAttributes === false) throw emptyStatus(400);
    if (patch.targetType !== undefined && patch.targetType !== -1)
      throw notFound('TargetType', patch.targetType);
    const { targetType: _ignored, ...rest } = patch;
    const updated = await service.updateTarget(id, stripUndefined(rest));
    send(ctx, 200, targetJson(ctx, updated, true));
  });
  on('DELETE', '/targets/:id', async (ctx) => {
    await requireTarget(ctx.params[0]!);
    await service.deleteTarget(ctx.params[0]!);
    sendEmpty(ctx.res, 204);
  });
  on('GET', '/targets/:id/attributes', async (ctx) => {
    const target = await requireTarget(ctx.params[0]!);
    if (Object.keys(target.attributes).length === 0) sendEmpty(ctx.res, 204);
    else send(ctx, 200, target.attributes);
  });
  const dsOfTarget =
    (which: 'assignedDistributionSetId' | 'installedDistributionSetId') => async (ctx: Ctx) => {
      // hawkBit answers 204 for an unknown target here too.
      const target = await service.getTarget(ctx.params[0]!);
      const id = target?.[which];
      const set = id === undefined ? undefined : await service.store.getDistributionSet(id);
      if (!set) sendEmpty(ctx.res, 204);
      else send(ctx, 200, await setJson(ctx, set, true));
    };
  on('GET', '/targets/:id/assignedDS', dsOfTarget('assignedDistributionSetId'));
  on('GET', '/targets/:id/installedDS', dsOfTarget('installedDistributionSetId'));
  on('POST', '/targets/:id/assignedDS', async (ctx) => {
    const id = ctx.params[0]!;
    const list = (await arrayBody(ctx)).map((item) => check(DsAssignment, item));
    await requireTarget(id);
    if (list.length === 0) throw hawkbit(400, ERR.constraint, 'assignments must not be empty.');
    if (list.length > 1) {
      throw hawkbit(
        400,
        ERR.multiAssignment,
        'The requested operation requires multi assignments to be enabled.',
      );
    }
    const [assignment] = list as [z.infer<typeof DsAssignment>];
    const set = await requireSet(assignment.id);
    await assignable(set);
    const result = await service.assign(set.id, [toAssignInput(id, assignment)]);
    send(ctx, 200, assignmentJson(ctx, result));
  });
  on('GET', '/targets/:id/actions', async (ctx) => {
    await requireTarget(ctx.params[0]!);
    const all = await service.listActions(ctx.params[0]!);
    const page = queryList(all, ctx.url.searchParams, actionFields, 'id:DESC');
    const content = [];
    for (const a of page.items) content.push(await actionJson(ctx, a, false));
    send(ctx, 200, paged(content, page.total));
  });
  on('GET', '/targets/:id/actions/:aid', async (ctx) => {
    const action = await requireActionOf(ctx.params[0]!, ctx.params[1]);
    send(ctx, 200, await actionJson(ctx, action, true));
  });
  on('DELETE', '/targets/:id/actions/:aid', async (ctx) => {
    const action = await requireActionOf(ctx.params[0]!, ctx.params[1]);
    const force = ctx.url.searchParams.get('force')?.toLowerCase() === 'true';
    if (force) {
      if (!action.active || action.status !== 'CANCELING') {
        throw hawkbit(
          405,
          ERR.notForceQuitable,
          `${action.id} is not canceled yet and cannot be force quit`,
        );
      }
      const result = await service.forceQuit(action.id, [
        'Update Server: A force quit has been performed.',
      ]);
      if (!result.ok) throw hawkbit(405, ERR.notForceQuitable, result.message);
    } else {
      if (!action.active)
        throw hawkbit(405, ERR.notCancelable, `${action.id} is not active and cannot be canceled`);
      if (action.status === 'CANCELING') {
        throw hawkbit(
          405,
          ERR.notCancelable,
          'Actions in canceling or canceled state cannot be canceled',
        );
      }
      const result = await service.cancel(action.id, [
        'Update Server: manual cancelation requested',
      ]);
      if (!result.ok) throw hawkbit(405, ERR.notCancelable, result.message);
    }
    sendEmpty(ctx.res, 204);
  });
  on('GET', '/targets/:id/actions/:aid/status', async (ctx) => {
    const action = await requireActionOf(ctx.params[0]!, ctx.params[1]);
    const history = (await service.getActionHistory(action.id)) ?? [];
    // hawkBit's entries have ids; ours are their position in the action's (bounded) history.
    const entries: Entry[] = history.map((e, i) => ({ ...e, id: i + 1 }));
    const page = queryList(entries, ctx.url.searchParams, statusFields, 'id:DESC', {
      allowQ: false,
    });
    const content = page.items.map((e) => {
      const out: Record<string, unknown> = {
        id: e.id,
        type: e.status.toLowerCase(),
        messages: e.messages ?? [],
        reportedAt: e.at,
        timestamp: e.at,
      };
      if (e.code !== undefined) out.code = e.code;
      return out;
    });
    send(ctx, 200, paged(content, page.total));
  });

  // software modules and artifacts
  on('GET', '/softwaremoduletypes', async (ctx) => {
    const all = Object.entries(SM_TYPES).map(([key, t]) => ({
      ...base(0, 0),
      id: t.id,
      name: t.name,
      description: t.description,
      key,
      maxAssignments: t.maxAssignments,
      minArtifacts: 0,
      deleted: false,
      _links: { self: { href: `${ctx.base}${MGMT_BASE}/softwaremoduletypes/${t.id}` } },
    }));
    send(ctx, 200, paged(all, all.length));
  });
  on('GET', '/distributionsettypes', async (ctx) => {
    const all = Object.entries(DS_TYPES).map(([key, t]) => {
      const self = `${ctx.base}${MGMT_BASE}/distributionsettypes/${t.id}`;
      return {
        ...base(0, 0),
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
    send(ctx, 200, paged(all, all.length));
  });
  on('POST', '/softwaremodules', async (ctx) => {
    const list = (await arrayBody(ctx)).map((item) => check(SoftwareModuleCreate, item));
    const existing = (await service.store.listSoftwareModules()).items;
    const seen = new Set<string>();
    for (const m of list) {
      if (!SM_TYPES[m.type]) throw notFound('SoftwareModuleType', m.type);
      if (m.encrypted)
        throw hawkbit(
          400,
          ERR.constraint,
          'encrypted: artifact encryption is not supported by this server.',
        );
      const key = `${m.type}\u0000${m.name}\u0000${m.version}`;
      if (
        seen.has(key) ||
        existing.some((e) => e.type === m.type && e.name === m.name && e.version === m.version)
      ) {
        throw hawkbit(409, ERR.exists, 'The given entity already exists in database');
      }
      seen.add(key);
    }
    const created: SoftwareModule[] = [];
    for (const m of list) created.push(await service.createSoftwareModule(stripUndefined(m)));
    send(
      ctx,
      201,
      created.map((m) => moduleJson(ctx, m, false)),
    );
  });
  on('GET', '/softwaremodules', async (ctx) => {
    const all = (await service.store.listSoftwareModules()).items;
    const page = queryList(all, ctx.url.searchParams, moduleFields, 'id:ASC');
    send(
      ctx,
      200,
      paged(
        page.items.map((m) => moduleJson(ctx, m, false)),
        page.total,
      ),
    );
  });
  on('GET', '/softwaremodules/:id', async (ctx) => {
    send(ctx, 200, moduleJson(ctx, await requireModule(ctx.params[0]), true));
  });
  on('POST', '/softwaremodules/:id/artifacts', async (ctx) => {
    const module = await requireModule(ctx.params[0]);
    await uploadArtifact(ctx, module);
  });
  on('GET', '/softwaremodules/:id/artifacts', async (ctx) => {
    const module = await requireModule(ctx.params[0]);
    const full = ctx.url.searchParams.get('representation') === 'full';
    send(
      ctx,
      200,
      module.artifacts.map((a) => artifactJson(ctx, module.id, a, full)),
    );
  });
  const requireArtifact = async (ctx: Ctx) => {
    const module = await requireModule(ctx.params[0]);
    const id = intParam(ctx.params[1], 'Artifact');
    const artifact = module.artifacts.find((a) => a.id === id);
    if (!artifact) throw notFound('Artifact', id);
    return { module, artifact };
  };
  on('GET', '/softwaremodules/:id/artifacts/:aid', async (ctx) => {
    const { module, artifact } = await requireArtifact(ctx);
    send(ctx, 200, artifactJson(ctx, module.id, artifact, true));
  });
  on('DELETE', '/softwaremodules/:id/artifacts/:aid', async (ctx) => {
    const { module, artifact } = await requireArtifact(ctx);
    await service.deleteArtifact(module.id, artifact.id);
    await artifacts.delete(module.id, artifact.filename);
    sendEmpty(ctx.res, 204);
  });
  on('GET', '/softwaremodules/:id/artifacts/:aid/download', async (ctx) => {
    const { module, artifact } = await requireArtifact(ctx);
    const entry = await artifacts.lookup(module.id, artifact.filename);
    if (!entry) throw notFound('Artifact', artifact.id);
    ctx.res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(entry.size),
      'Content-Disposition': `attachment;filename=${encodeURIComponent(artifact.filename)}`,
      ETag: artifact.hashes.sha1,
    });
    await pipeTo(entry.createReadStream(), ctx.res);
  });

  // distribution sets
  on('POST', '/distributionsets', async (ctx) => {
    const list = (await arrayBody(ctx)).map((item) => check(DistributionSetCreate, item));
    const existing = (await service.store.listDistributionSets()).items;
    const seen = new Set<string>();
    for (const s of list) {
      const typeKey = s.type ?? 'os_app';
      const type = DS_TYPES[typeKey];
      if (!type) throw notFound('DistributionSetType', typeKey);
      for (const { id } of s.modules ?? []) {
        const module = await service.store.getSoftwareModule(id);
        if (!module) throw notFound('SoftwareModule', id);
        if (![...type.mandatory, ...type.optional].includes(module.type)) {
          throw hawkbit(
            400,
            ERR.unsupportedModule,
            `Software module type ${module.type} is not supported by distribution set type ${typeKey}`,
          );
        }
      }
      const key = `${typeKey}\u0000${s.name}\u0000${s.version}`;
      if (
        seen.has(key) ||
        existing.some((e) => e.type === typeKey && e.name === s.name && e.version === s.version)
      ) {
        throw hawkbit(409, ERR.exists, 'The given entity already exists in database');
      }
      seen.add(key);
    }
    const created: DistributionSet[] = [];
    for (const s of list) {
      const { modules, ...rest } = s;
      created.push(
        await service.createDistributionSet({
          ...stripUndefined(rest),
          modules: (modules ?? []).map((m) => m.id),
        }),
      );
    }
    const out = [];
    for (const s of created) out.push(await setJson(ctx, s, false));
    send(ctx, 201, out);
  });
  on('GET', '/distributionsets', async (ctx) => {
    const all = (await service.store.listDistributionSets()).items;
    const page = queryList(all, ctx.url.searchParams, setFields, 'id:ASC');
    const out = [];
    for (const s of page.items) out.push(await setJson(ctx, s, false));
    send(ctx, 200, paged(out, page.total));
  });
  on('GET', '/distributionsets/:id', async (ctx) => {
    send(ctx, 200, await setJson(ctx, await requireSet(ctx.params[0]), true));
  });
  on('POST', '/distributionsets/:id/assignedTargets', async (ctx) => {
    const set = await requireSet(ctx.params[0]);
    const list = (await arrayBody(ctx)).map((item) => check(TargetAssignment, item));
    await assignable(set);
    const ids = new Set<string>();
    for (const a of list) {
      if (ids.has(a.id))
        throw hawkbit(
          400,
          ERR.multiAssignment,
          'The requested operation requires multi assignments to be enabled.',
        );
      ids.add(a.id);
    }
    const inputs = [];
    // hawkBit silently ignores unknown controller ids: they count nowhere.
    for (const a of list) if (await service.getTarget(a.id)) inputs.push(toAssignInput(a.id, a));
    const result = await service.assign(set.id, inputs);
    send(ctx, 200, assignmentJson(ctx, result));
  });

  // ---------------------------------------------------------------- upload

  async function uploadArtifact(ctx: Ctx, module: SoftwareModule): Promise<void> {
    const boundary = boundaryOf(ctx.req.headers['content-type']);
    if (!boundary) throw boot(415);
    const fields = new Map<string, string>();
    for (const key of ['filename', 'md5sum', 'sha1sum', 'sha256sum']) {
      const value = ctx.url.searchParams.get(key);
      if (value) fields.set(key, value);
    }
    let staged: StagedArtifact | undefined;
    let partFilename: string | undefined;
    try {
      await readMultipart(ctx.req as AsyncIterable<Buffer>, boundary, {
        onField: (name, value) => {
          if (value !== '') fields.set(name, value);
        },
        onFile: async (part, body) => {
          if (part.name !== 'file' || staged) {
            body.resume();
            await new Promise<void>((resolve) => body.once('end', resolve).once('close', resolve));
            return;
          }
          partFilename = part.filename;
          staged = await artifacts.stage(body, { maxBytes: maxArtifactBytes });
        },
      });
    } catch (error) {
      await staged?.discard();
      if (error instanceof BackendError && error.code === 'UPLOAD_TOO_LARGE') {
        throw new Problem(
          429,
          hawkbit(429, ERR.fileSize, `Maximum file size of ${maxArtifactBytes} bytes exceeded`)
            .body,
          {
            Connection: 'close',
          },
        );
      }
      if (error instanceof BackendError && error.code === 'BAD_MULTIPART') {
        throw new Problem(
          400,
          hawkbit(400, ERR.uploadFailed, `Upload failed: ${error.message}`).body,
          { Connection: 'close' },
        );
      }
      throw error;
    }
    const upload = staged as StagedArtifact | undefined;
    try {
      if (!upload) throw hawkbit(400, ERR.uploadFailed, "Required part 'file' is not present.");
      if (upload.size === 0) throw emptyStatus(400);
      const filename = fields.get('filename') ?? partFilename ?? '';
      if (
        !filename ||
        filename.length > 256 ||
        filename === '.' ||
        filename === '..' ||
        /[/\\]/.test(filename) ||
        hasControlCharacter(filename)
      ) {
        throw hawkbit(400, ERR.constraint, 'Invalid characters in string');
      }
      for (const [field, hash] of [
        ['md5sum', 'md5'],
        ['sha1sum', 'sha1'],
        ['sha256sum', 'sha256'],
      ] as const) {
        const given = fields.get(field);
        if (given !== undefined && given.toLowerCase() !== upload.hashes[hash]) {
          throw hawkbit(
            400,
            [
              `hawkbit.server.error.artifact.uploadFailed.checksum.${hash}.match`,
              ERR.uploadFailed[1],
            ],
            `The given ${hash.toUpperCase()} checksum does not match the uploaded file`,
          );
        }
      }
      const current = await requireModule(String(module.id));
      if (current.artifacts.some((a) => a.filename === filename)) {
        throw hawkbit(409, ERR.exists, 'File with that name already exists in the Software Module');
      }
      await upload.commit(module.id, filename);
      const artifact = await service.addArtifact(module.id, {
        filename,
        size: upload.size,
        hashes: upload.hashes,
      });
      log?.info('artifact uploaded', {
        moduleId: module.id,
        filename,
        size: upload.size,
        sha256: upload.hashes.sha256,
      });
      send(ctx, 201, artifactJson(ctx, module.id, artifact, true));
    } catch (error) {
      await upload?.discard();
      throw error;
    }
  }

  // ---------------------------------------------------------------- dispatch

  const authorized = (req: IncomingMessage) => {
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!match) return false;
    const given = Buffer.from(match[1] ?? '', 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  /** hawkBit answers hal+json unless the client asks for plain JSON; other types get 406. */
  const negotiate = (accept: string | undefined): string | undefined => {
    if (!accept) return 'application/hal+json';
    const types = accept.split(',').map((t) => t.split(';')[0]?.trim().toLowerCase() ?? '');
    for (const t of types) {
      if (t === 'application/json') return 'application/json';
      if (t === 'application/hal+json' || t === 'application/*' || t === '*/*')
        return 'application/hal+json';
    }
    return undefined;
  };

  const write = (ctx: Ctx, problem: Problem) => {
    if (ctx.res.headersSent) {
      ctx.res.destroy();
      return;
    }
    if (problem.boot) {
      sendJson(
        ctx.res,
        problem.status,
        bootError(problem.status),
        'application/json',
        problem.headers,
      );
    } else if (problem.body) {
      sendJson(ctx.res, problem.status, problem.body, ctx.contentType, problem.headers);
    } else {
      sendEmpty(ctx.res, problem.status, problem.headers);
    }
  };

  return {
    async handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== MGMT_BASE && !url.pathname.startsWith(`${MGMT_BASE}/`)) return false;
      const ctx: Ctx = {
        req,
        res,
        url,
        params: [],
        base: requestBase(req, options.publicUrl),
        contentType: 'application/hal+json',
      };
      try {
        if (!authorized(req)) throw boot(401, { 'WWW-Authenticate': 'Basic realm="hawkBit"' });
        const path = url.pathname.slice(MGMT_BASE.length).replace(/\/+$/, '');
        const matching = routes.filter((r) => r.pattern.test(path));
        if (matching.length === 0) throw boot(404);
        const route = matching.find((r) => r.method === req.method);
        if (!route) throw boot(405, { Allow: matching.map((r) => r.method).join(', ') });
        const contentType =
          route.method === 'DELETE' ? 'application/json' : negotiate(req.headers.accept);
        if (!contentType) throw boot(406);
        ctx.contentType = contentType;
        ctx.params = (route.pattern.exec(path) ?? []).slice(1).map((p) => decodeURIComponent(p));
        await route.run(ctx);
      } catch (error) {
        if (error instanceof Problem) write(ctx, error);
        else if (error instanceof QueryError)
          write(ctx, hawkbit(400, [error.errorCode, ERR.param[1]], error.message));
        else {
          const mapped = fromCore(error);
          if (mapped) write(ctx, mapped);
          else {
            log?.error('management API request failed', {
              method: req.method,
              path: url.pathname,
              error,
            });
            write(ctx, boot(500));
          }
        }
      }
      return true;
    },
  };
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) < 0x20) return true;
  return false;
}

function ipOf(address: string | undefined): string | undefined {
  if (!address) return undefined;
  try {
    const url = new URL(address);
    if (url.protocol === 'amqp:' || url.hostname === '***' || !url.hostname) return undefined;
    return url.hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

function stripUndefined<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]: Exclude<T[K], undefined> };
}

function pipeTo(source: Readable, res: ServerResponse): Promise<void> {
  return pipeline(source, res);
}
