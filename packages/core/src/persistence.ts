import { z } from 'zod';
import type { ActionSnapshot } from './actions.js';
import { actionMachine } from './actionMachine.js';
import { OtaflowError } from './OtaflowError.js';
import { ActionStatus, StatusEntry } from './vocabulary.js';
import { type TargetSnapshot, targetMachine } from './targetMachine.js';

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

export function persistAction(snapshot: ActionSnapshot): PersistedSnapshot {
  return { v: 1, value: snapshot.value as PersistedSnapshot['value'], context: { ...snapshot.context } };
}

export function restoreAction(persisted: unknown): ActionSnapshot {
  const parsed = PersistedSnapshot.safeParse(persisted);
  if (!parsed.success) throw new OtaflowError('INVALID_SNAPSHOT', 'not a persisted action', parsed.error.issues);
  const ctx = ActionContextShape.safeParse(parsed.data.context);
  if (!ctx.success) throw new OtaflowError('INVALID_SNAPSHOT', 'bad action context', ctx.error.issues);
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
  const parsed = PersistedSnapshot.safeParse(persisted);
  if (!parsed.success) throw new OtaflowError('INVALID_SNAPSHOT', 'not a persisted target', parsed.error.issues);
  const ctx = TargetContextShape.safeParse(parsed.data.context);
  if (!ctx.success) throw new OtaflowError('INVALID_SNAPSHOT', 'bad target context', ctx.error.issues);
  try {
    return targetMachine.resolveState({
      value: parsed.data.value as never,
      context: parsed.data.context as never,
    });
  } catch (error) {
    throw new OtaflowError('INVALID_SNAPSHOT', `unknown target state: ${String(error)}`);
  }
}
