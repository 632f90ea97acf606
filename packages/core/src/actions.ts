import type { SnapshotFrom } from 'xstate';
import type { ActionEvent } from './actionEvents.js';
import { ACTIVE, type ActionContext, type ActionInput, actionMachine } from './actionMachine.js';
import { createInertScope } from './inertScope.js';
import { type ActionStatus, DEFAULT_MAX_HISTORY, type StatusEntry } from './vocabulary.js';

export type ActionSnapshot = SnapshotFrom<typeof actionMachine>;

/** A read-only, JSON view of an action: what APIs and adapters show. */
export interface ActionView
  extends Omit<ActionContext, 'history' | 'maxHistory' | 'historyDropped'> {
  active: boolean;
  /** The state node, e.g. `running.download`; useful in logs and the inspector. */
  state: string;
}

export type ActionRefusalReason = 'ACTION_CLOSED' | 'EVENT_NOT_ALLOWED';

export type ActionTransitionResult =
  | { ok: true; snapshot: ActionSnapshot; changedStatus: boolean; closed: boolean }
  | { ok: false; reason: ActionRefusalReason; status: ActionStatus; message: string };

const scope = createInertScope();

/** Where a new action lands, computed by the machine once per combination of the flags that decide it. */
const landing = new Map<string, ActionSnapshot>();

/**
 * A new action, in the state its input says. xstate computes an initial snapshot through the
 * transient `created` state, which made creation 40% of an action's life in the benchmark. The
 * state it lands in depends only on `scheduled` and `confirmationRequired`, so the machine
 * computes it once per combination; each action is then resolved into that state with the context
 * the machine's factory and entry `record` give it (a property test holds the two equal).
 */
export function createActionSnapshot(input: ActionInput): ActionSnapshot {
  const key = `${input.scheduled === true}|${input.confirmationRequired === true}`;
  const template = landing.get(key);
  if (!template) {
    const first = actionMachine.getInitialSnapshot(scope, input);
    landing.set(key, first);
    return first;
  }
  const { maxHistory, ...rest } = input;
  const status = template.context.status;
  const context: ActionContext = {
    ...rest,
    status,
    lastModifiedAt: input.createdAt,
    maxHistory: maxHistory ?? DEFAULT_MAX_HISTORY,
    history: [{ status, at: input.createdAt }],
  };
  return actionMachine.resolveState({ value: template.value, context });
}

export function stateKeyOf(snapshot: { value: unknown }): string {
  const value = snapshot.value;
  if (typeof value === 'string') return value;
  const parts: string[] = [];
  let node: unknown = value;
  while (node && typeof node === 'object') {
    const [key, child] = Object.entries(node as Record<string, unknown>)[0] ?? [];
    if (key === undefined) break;
    parts.push(key);
    if (typeof child === 'string') {
      parts.push(child);
      break;
    }
    node = child;
  }
  return parts.join('.');
}

/** hawkBit: an action is active until it is closed; a scheduled one is not active yet (the machine's tag). */
export function isActionActive(snapshot: ActionSnapshot): boolean {
  return snapshot.hasTag(ACTIVE);
}

export function isActionClosed(snapshot: ActionSnapshot): boolean {
  return snapshot.status === 'done';
}

/**
 * Applies one event. A final action refuses everything (`ACTION_CLOSED`); an event the current
 * state does not take is refused too (`EVENT_NOT_ALLOWED`). A refusal never changes anything.
 */
export function applyActionEvent(
  snapshot: ActionSnapshot,
  event: ActionEvent,
): ActionTransitionResult {
  const status = snapshot.context.status;
  if (snapshot.status === 'done') {
    return {
      ok: false,
      reason: 'ACTION_CLOSED',
      status,
      message: `action ${snapshot.context.id} is closed (${status}); ${event.type} ignored`,
    };
  }
  if (!snapshot.can(event)) {
    return {
      ok: false,
      reason: 'EVENT_NOT_ALLOWED',
      status,
      message: `action ${snapshot.context.id} in ${status} does not take ${event.type}`,
    };
  }
  const next = actionMachine.transition(snapshot, event, scope);
  return {
    ok: true,
    snapshot: next,
    changedStatus: next.context.status !== status || next.value !== snapshot.value,
    closed: next.status === 'done',
  };
}

export function actionView(snapshot: ActionSnapshot): ActionView {
  const {
    history: _history,
    maxHistory: _max,
    historyDropped: _dropped,
    ...rest
  } = snapshot.context;
  return { ...rest, active: isActionActive(snapshot), state: stateKeyOf(snapshot) };
}

export function actionHistory(snapshot: ActionSnapshot): readonly StatusEntry[] {
  return snapshot.context.history;
}
