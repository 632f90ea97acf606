import {
  ActionType,
  ControllerId,
  type DistributionSet,
  MaintenanceWindow,
  TARGET_TYPES,
  TargetChannel,
  TargetGroup,
  type UpdateService,
  Weight,
} from '@otaflow/core';
import { z } from 'zod';
import type { EndpointRequest, ManagementContext } from './ManagementContext.js';
import {
  constraintViolation,
  emptyProblem,
  hawkbitProblem,
  notFound,
  notReadable,
  springProblem,
} from './Problem.js';
import { isComplete, typeCatalogue } from './typeCatalogue.js';

// ---------------------------------------------------------------- request schemas

/** hawkBit spells enums lower-case; upper-case is accepted here too. */
const LowerActionType = z.preprocess(
  (v) => (typeof v === 'string' ? v.toLowerCase() : v),
  ActionType,
);

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
export const DsAssignment = z.object({ id: z.number().int(), ...assignmentFields });
export type DsAssignment = z.infer<typeof DsAssignment>;
export const TargetAssignment = z.object({ id: z.string().min(1), ...assignmentFields });
export type TargetAssignment = z.infer<typeof TargetAssignment>;

export const TargetCreate = z.object({
  controllerId: ControllerId,
  name: z.string().min(1).max(128).optional(),
  description: z.string().max(512).optional(),
  address: z.string().max(512).optional(),
  securityToken: z.string().min(1).max(128).optional(),
  targetType: z.number().int().optional(),
  /** otaflow extension: how the target is reached (see README); hawkBit ignores unknown fields. */
  channel: TargetChannel.optional(),
  group: TargetGroup.optional(),
});

export const TargetUpdate = z.object({
  name: z.string().min(1).max(128).optional(),
  description: z.string().max(512).optional(),
  address: z.string().max(512).optional(),
  securityToken: z.string().min(1).max(128).optional(),
  requestAttributes: z.boolean().optional(),
  targetType: z.number().int().optional(),
  channel: TargetChannel.optional(),
  /** hawkBit 0.10 reads it on create only; applied here on update too (see README). */
  group: TargetGroup.optional(),
});

export const SoftwareModuleCreate = z.object({
  name: z.string().min(1).max(128),
  version: z.string().min(1).max(64),
  type: z.string().min(1).max(64),
  description: z.string().max(512).optional(),
  vendor: z.string().max(256).optional(),
  encrypted: z.boolean().optional(),
});

export const DistributionSetCreate = z.object({
  name: z.string().min(1).max(128),
  version: z.string().min(1).max(64),
  description: z.string().max(512).optional(),
  type: z.string().min(1).max(64).optional(),
  modules: z.array(z.object({ id: z.number().int() })).optional(),
  requiredMigrationStep: z.boolean().optional(),
});

/** hawkBit's PUT of a module: only these change (unknown fields are ignored, as in hawkBit). */
export const SoftwareModuleUpdate = SoftwareModuleCreate.pick({ description: true, vendor: true });

/** hawkBit's PUT of a set. */
export const DistributionSetUpdate = DistributionSetCreate.pick({
  name: true,
  version: true,
  description: true,
  requiredMigrationStep: true,
})
  .extend({ locked: z.boolean().optional() })
  .partial();

// ---------------------------------------------------------------- bodies and parameters

export function check<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw constraintViolation(parsed.error);
  return parsed.data;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** hawkBit 1.1 accepts a single object where an array is expected; anything else is unreadable. */
export async function arrayBody(request: EndpointRequest): Promise<Record<string, unknown>[]> {
  const body = await request.json();
  const list = Array.isArray(body) ? body : isObject(body) ? [body] : undefined;
  if (!list?.every(isObject)) throw notReadable();
  return list;
}

export async function objectBody(request: EndpointRequest): Promise<Record<string, unknown>> {
  const body = await request.json();
  if (!isObject(body)) throw notReadable();
  return body;
}

export function intParam(raw: string | undefined, type: string): number {
  const n = Number(raw);
  // Spring fails to convert a non-numeric path id before hawkBit sees it: Boot's 400.
  if (!raw || !/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw springProblem(400);
  if (n <= 0) throw notFound(type, raw);
  return n;
}

export function stripUndefined<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]: Exclude<T[K], undefined> };
}

// ---------------------------------------------------------------- entities named by the path

export async function requireTarget(api: ManagementContext, id: string | undefined) {
  const target = id === undefined ? undefined : await api.service.getTarget(id);
  if (!target) throw notFound('Target', id ?? '');
  return target;
}

export async function requireModule(api: ManagementContext, raw: string | undefined) {
  const id = intParam(raw, 'SoftwareModule');
  const module = await api.service.getSoftwareModule(id);
  if (!module) throw notFound('SoftwareModule', id);
  return module;
}

export async function requireSet(api: ManagementContext, raw: string | number | undefined) {
  const id = typeof raw === 'number' ? raw : intParam(raw, 'DistributionSet');
  const set = await api.service.getDistributionSet(id);
  if (!set) throw notFound('DistributionSet', id);
  return set;
}

/** An action of another target is hawkBit's 404 with an empty body. */
export async function requireActionOf(
  api: ManagementContext,
  controllerId: string | undefined,
  raw: string | undefined,
) {
  await requireTarget(api, controllerId);
  const id = intParam(raw, 'Action');
  const action = await api.service.getAction(id);
  if (!action) throw notFound('Action', id);
  if (action.controllerId !== controllerId) throw emptyProblem(404);
  return action;
}

// ---------------------------------------------------------------- assignments

export async function requireAssignable(
  api: ManagementContext,
  set: DistributionSet,
): Promise<void> {
  await requireAssignableSet(api.service, set);
}

/** As `requireAssignable`, for what holds a service but no API (the rollout engine). */
export async function requireAssignableSet(
  service: UpdateService,
  set: DistributionSet,
): Promise<void> {
  if (set.deleted) throw notFoundDeleted('DistributionSet', set.id);
  if (set.valid === false)
    throw hawkbitProblem(
      400,
      'dsInvalid',
      `Distribution set ${set.name}:${set.version} is invalid and cannot be assigned`,
    );
  const [modules, types] = await Promise.all([service.modulesOf(set), typeCatalogue(service)]);
  if (!isComplete(types, set, modules)) {
    throw hawkbitProblem(
      400,
      'incomplete',
      `Distribution set of type ${set.type} is incomplete: ${set.name}:${set.version}`,
    );
  }
}

/**
 * One assignment as core takes it. Without `confirmationRequired`, the action waits for the
 * device's consent exactly when the tenant's `user.confirmation.flow.enabled` is on (hawkBit's
 * default); a request that says so either way is followed.
 */
export function toAssignInput(
  api: Pick<ManagementContext, 'settings'>,
  controllerId: string,
  a: DsAssignment | TargetAssignment,
) {
  const input: Parameters<UpdateService['assign']>[1][number] = { controllerId };
  const flow = api.settings.get('user.confirmation.flow.enabled');
  if (a.type !== undefined) input.type = a.type;
  if (a.weight !== undefined) input.weight = a.weight;
  if (a.forcetime !== undefined) input.forcedTime = a.forcetime;
  if (a.confirmationRequired !== undefined || flow)
    input.confirmationRequired = a.confirmationRequired ?? flow;
  if (a.maintenanceWindow) {
    const w = a.maintenanceWindow;
    const given = [w.schedule, w.duration, w.timezone].filter(
      (v) => v !== undefined && v !== '',
    ).length;
    if (given > 0) {
      const parsed = MaintenanceWindow.safeParse(w);
      if (given !== 3 || !parsed.success) {
        throw hawkbitProblem(
          400,
          'maintenance',
          'The maintenance schedule needs schedule, duration (HH:mm:ss) and timezone (+HH:mm)',
        );
      }
      input.maintenanceWindow = parsed.data;
    }
  }
  return input;
}

export const multiAssignmentProblem = () =>
  hawkbitProblem(
    400,
    'multiAssignment',
    'The requested operation requires multi assignments to be enabled.',
  );

/** hawkBit's answer for a soft-deleted entity that is asked to do something: 404 `deleted`. */
export function notFoundDeleted(type: string, id: number | string) {
  return hawkbitProblem(404, 'deleted', `${type} ${id} is soft deleted`);
}

/** A target type that exists and is not deleted (404 otherwise). */
export async function requireTargetType(api: ManagementContext, id: number) {
  const type = await api.service.collection(TARGET_TYPES).get(id);
  if (!type || type.deleted) throw notFound('TargetType', id);
  return type;
}

/**
 * hawkBit's compatibility rule: a target of a type accepts only the set types its type lists
 * (a target without a type accepts any). One incompatible target refuses the whole request.
 */
export async function requireCompatible(
  api: ManagementContext,
  set: DistributionSet,
  targets: readonly { controllerId: string; targetType?: number | undefined }[],
): Promise<void> {
  const typed = targets.filter((t) => t.targetType !== undefined);
  if (typed.length === 0) return;
  const setType = (await typeCatalogue(api.service, api.user)).setType(set.type);
  const cache = new Map<number, readonly number[]>();
  for (const t of typed) {
    const typeId = t.targetType as number;
    let compatible = cache.get(typeId);
    if (!compatible) {
      compatible = (await api.service.collection(TARGET_TYPES).get(typeId))?.compatible ?? [];
      cache.set(typeId, compatible);
    }
    if (!setType || !compatible.includes(setType.id))
      throw hawkbitProblem(
        400,
        'targetTypeIncompatible',
        `Target ${t.controllerId} of type ${typeId} is not compatible with distribution set type ${set.type}`,
      );
  }
}

/** Whether a request carries a body at all (a DELETE's is optional to Spring). */
export function hasBody(request: EndpointRequest): boolean {
  const headers = request.raw.headers;
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}
