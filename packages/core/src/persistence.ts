import { z } from 'zod';
import { actionMachine } from './actionMachine.js';
import type { ActionSnapshot } from './actions.js';
import { OtaflowError } from './OtaflowError.js';
import { type TargetSnapshot, targetMachine } from './targetMachine.js';
import { ActionStatus, StatusEntry } from './vocabulary.js';

/**
 * A persisted machine: its state value and context, with a schema version of our own, because
 * XState does not check compatibility when it restores a snapshot.
 */
export const PersistedSnapshot = z.object({
  v: z.literal(1),
  value: z.union([z.string(), z.record(z.string(), z.unknown())]),
  context: z.record(z.string(), z.unknown()),
});
export type PersistedSnapshot = z.infer<typeof PersistedSnapshot>;

const ActionContextShape = z.looseObject({
  id: z.number().int(),
  controllerId: z.string(),
  status: ActionStatus,
  history: z.array(StatusEntry),
  maxHistory: z.number().int().positive(),
});

const TargetContextShape = z.looseObject({
  controllerId: z.string(),
  createdAt: z.number(),
});

const STATUSES: ReadonlySet<unknown> = new Set(ActionStatus.options);
const isInt = (v: unknown): v is number => Number.isInteger(v);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function isStatusEntry(v: unknown): boolean {
  if (!isRecord(v) || !STATUSES.has(v.status) || !isInt(v.at) || v.at < 0) return false;
  if (v.code !== undefined && !isInt(v.code)) return false;
  const m = v.messages;
  return m === undefined || (Array.isArray(m) && m.every((x) => typeof x === 'string'));
}

/**
 * The same checks as `PersistedSnapshot` + `ActionContextShape`, without zod's copies: restoring
 * is on every report's path, and zod parsing the history cost a tenth of the service's time. Any
 * doubt falls through to zod, which then reports the issues.
 */
export function looksLikePersistedAction(v: unknown): v is PersistedSnapshot {
  if (!isRecord(v) || v.v !== 1 || !isRecord(v.context)) return false;
  if (typeof v.value !== 'string' && !isRecord(v.value)) return false;
  const c = v.context;
  return (
    isInt(c.id) &&
    typeof c.controllerId === 'string' &&
    STATUSES.has(c.status) &&
    isInt(c.maxHistory) &&
    c.maxHistory > 0 &&
    Array.isArray(c.history) &&
    c.history.every(isStatusEntry)
  );
}

export function looksLikePersistedTarget(v: unknown): v is PersistedSnapshot {
  return (
    isRecord(v) &&
    v.v === 1 &&
    (typeof v.value === 'string' || isRecord(v.value)) &&
    isRecord(v.context) &&
    typeof v.context.controllerId === 'string' &&
    typeof v.context.createdAt === 'number'
  );
}

export function persistAction(snapshot: ActionSnapshot): PersistedSnapshot {
  return {
    v: 1,
    value: snapshot.value as PersistedSnapshot['value'],
    context: { ...snapshot.context },
  };
}

export function restoreAction(persisted: unknown): ActionSnapshot {
  if (looksLikePersistedAction(persisted)) return resolve(actionMachine, persisted, 'action');
  const parsed = PersistedSnapshot.safeParse(persisted);
  if (!parsed.success)
    throw new OtaflowError('INVALID_SNAPSHOT', 'not a persisted action', parsed.error.issues);
  const ctx = ActionContextShape.safeParse(parsed.data.context);
  if (!ctx.success)
    throw new OtaflowError('INVALID_SNAPSHOT', 'bad action context', ctx.error.issues);
  try {
    return actionMachine.resolveState({
      value: parsed.data.value as never,
      context: parsed.data.context as never,
    });
  } catch (error) {
    throw new OtaflowError('INVALID_SNAPSHOT', `unknown action state: ${String(error)}`);
  }
}

export function persistTarget(snapshot: TargetSnapshot): PersistedSnapshot {
  return { v: 1, value: snapshot.value as string, context: { ...snapshot.context } };
}

export function restoreTarget(persisted: unknown): TargetSnapshot {
  if (looksLikePersistedTarget(persisted)) return resolve(targetMachine, persisted, 'target');
  const parsed = PersistedSnapshot.safeParse(persisted);
  if (!parsed.success)
    throw new OtaflowError('INVALID_SNAPSHOT', 'not a persisted target', parsed.error.issues);
  const ctx = TargetContextShape.safeParse(parsed.data.context);
  if (!ctx.success)
    throw new OtaflowError('INVALID_SNAPSHOT', 'bad target context', ctx.error.issues);
  try {
    return targetMachine.resolveState({
      value: parsed.data.value as never,
      context: parsed.data.context as never,
    });
  } catch (error) {
    throw new OtaflowError('INVALID_SNAPSHOT', `unknown target state: ${String(error)}`);
  }
}

function resolve<M extends typeof actionMachine | typeof targetMachine>(
  machine: M,
  persisted: PersistedSnapshot,
  kind: string,
): ReturnType<M['resolveState']> {
  try {
    return machine.resolveState({
      value: persisted.value as never,
      context: persisted.context as never,
    }) as ReturnType<M['resolveState']>;
  } catch (error) {
    throw new OtaflowError('INVALID_SNAPSHOT', `unknown ${kind} state: ${String(error)}`);
  }
}
