import { ActionEvent } from './actionEvents.js';
import {
  type ActionContext,
  type ActionInput,
  actionMachine,
  entryFrom,
  historyWith,
} from './actionMachine.js';
import { FINAL_ACTION_STATES } from './actionStates.js';
import { type ActionTransitionResult, applyActionEvent, createActionSnapshot } from './actions.js';
import { createInertScope } from './inertScope.js';
import {
  looksLikePersistedAction,
  type PersistedSnapshot,
  persistAction,
  restoreAction,
} from './persistence.js';
import type { ActionStatus } from './vocabulary.js';

/*
 * The service's hot path works on persisted snapshots (`{ v, value, context }`) and never restores
 * an xstate snapshot for them: per event, restoring and running the machine cost most of a
 * report's time. What a transition does is read from the machine itself, once per combination of
 * everything its guards look at (state, event type, the event's result/warning/reported, the
 * action's scheduled/confirmation/downloadonly flags), by running it on a probe; the plan is then
 * replayed with the same `entryFrom`/`appended` the machine's actions use. A property test holds
 * this path equal to xstate's, byte for byte once persisted, for random event sequences.
 * Anything unexpected (an unknown guard or action in the machine, a state value of another shape,
 * a snapshot this module did not write and cannot vouch for cheaply) goes the xstate way.
 */

/** The guards and actions the plan keys and replay account for; a new one disables the fast path. */
const KNOWN_GUARDS = [
  'isScheduled',
  'needsConfirmation',
  'isDownloadOnly',
  'succeeded',
  'withWarning',
  'succeededWithWarning',
];
const KNOWN_ACTIONS = ['record', 'note', 'noteReported'];

const sameNames = (names: Iterable<string>, expected: readonly string[]) => {
  const got = [...names].sort();
  return got.length === expected.length && [...expected].sort().every((n, i) => n === got[i]);
};

const ACTION_FAST =
  sameNames(Object.keys(actionMachine.implementations.guards), KNOWN_GUARDS) &&
  sameNames(Object.keys(actionMachine.implementations.actions), KNOWN_ACTIONS);

const scope = createInertScope();

const EVENT_TYPES: ReadonlySet<string> = new Set(
  ActionEvent.options.map((option) => option.shape.type.value),
);
const REPORTED: ReadonlySet<string> = new Set([
  'RETRIEVED',
  'DOWNLOAD',
  'DOWNLOADED',
  'RUNNING',
  'CANCELING',
  'WARNING',
]);

/** Leaf state keys (`canceling`, `running.download`) of the action machine, read from it. */
const ACTION_LEAVES: ReadonlySet<string> = (() => {
  const keys = new Set<string>();
  const walk = (node: { key: string; states: Record<string, unknown> }, prefix: string) => {
    const children = Object.values(node.states) as (typeof node)[];
    if (children.length === 0) keys.add(prefix);
    for (const child of children) walk(child, prefix ? `${prefix}.${child.key}` : child.key);
  };
  walk(actionMachine.root as never, '');
  return keys;
})();

/** The state key of a persisted value, or undefined when it is not a leaf in the usual shape. */
function leafKey(value: PersistedSnapshot['value']): string | undefined {
  let key: string | undefined;
  if (typeof value === 'string') key = value;
  else {
    let count = 0;
    for (const parent in value) {
      const child = value[parent];
      if (++count > 1 || typeof child !== 'string') return undefined;
      key = `${parent}.${child}`;
    }
  }
  return key !== undefined && ACTION_LEAVES.has(key) ? key : undefined;
}

type Plan =
  | { kind: 'refuse' }
  | { kind: 'slow' }
  | {
      kind: 'step';
      /** Statuses of the history entries the transition appends, in order. */
      entries: ActionStatus[];
      /** The status the action ends in, or undefined when only notes were taken. */
      status: ActionStatus | undefined;
      value: PersistedSnapshot['value'];
      /** The leaf key of `value`. */
      key: string;
      /** xstate rebuilds object values on every transition, so `changedStatus` saw them change. */
      valueChanged: boolean;
      closed: boolean;
    };

/**
 * leaf key -> event type + variant -> plan per flags (scheduled, confirmation, downloadonly as
 * three bits): nested rather than one joined string key, which cost a string per report.
 */
const plans = new Map<string, Map<string, Array<Plan | undefined>>>();
/**
 * A persisted action this module wrote (immutable by the store contract), carrying its leaf state
 * key so the next step neither rebuilds nor looks it up. The key is a private field: no spread,
 * `JSON.stringify` or store copy carries it, so a copy is checked again like any foreign snapshot.
 * It replaced a WeakMap from snapshot to key, whose set and get per report (and whose ephemeron
 * upkeep in every scavenge) showed in the receiver's profile.
 */
class TrustedAction implements PersistedSnapshot {
  v: 1 = 1;
  value: PersistedSnapshot['value'];
  context: PersistedSnapshot['context'];
  readonly #key: string;

  constructor(
    value: PersistedSnapshot['value'],
    context: PersistedSnapshot['context'],
    key: string,
  ) {
    this.value = value;
    this.context = context;
    this.#key = key;
  }

  static keyOf(state: object): string | undefined {
    return #key in state ? (state as TrustedAction).#key : undefined;
  }
}
/** Leaf keys under a final root. */
const FINAL_LEAVES: ReadonlySet<string> = new Set(
  [...ACTION_LEAVES].filter((key) => FINAL_ACTION_STATES.has(key.split('.')[0]!)),
);

function variantOf(event: ActionEvent): string | undefined {
  if (event.type === 'action.finished')
    return `${event.result === 'success' ? 's' : 'f'}${event.warning === true ? 'w' : ''}`;
  if (event.type === 'cancel.progress')
    return REPORTED.has(event.reported) ? event.reported : undefined;
  return EVENT_TYPES.has(event.type) ? '' : undefined;
}

const PROBE_STATUS = '\u0000probe' as ActionStatus;

/** Runs the machine once on a probe of this action and reads what the transition does. */
function derivePlan(
  value: PersistedSnapshot['value'],
  context: ActionContext,
  event: ActionEvent,
): Plan {
  const probeContext: ActionContext = {
    ...context,
    status: PROBE_STATUS,
    history: [],
    maxHistory: Number.MAX_SAFE_INTEGER,
  };
  const probe = actionMachine.resolveState({ value: value as never, context: probeContext });
  if (!probe.can(event)) return { kind: 'refuse' };
  const next = actionMachine.transition(probe, event, scope);
  const after = next.context;
  const entries = after.history.map((e) => e.status);
  const last = after.history[after.history.length - 1];
  // The replay assumes the machine only appends entries built from the event and sets the status,
  // the time and the code from them; anything else keeps xstate in charge of this combination.
  if (!last || after.lastModifiedAt !== last.at) return { kind: 'slow' };
  const replay = entries.map((s) => entryFrom(s, event, context.createdAt));
  if (JSON.stringify(replay) !== JSON.stringify(after.history)) return { kind: 'slow' };
  for (const key of Object.keys(after) as (keyof ActionContext)[]) {
    if (key === 'status' || key === 'lastModifiedAt' || key === 'history') continue;
    if (key === 'lastStatusCode' && after.lastStatusCode === last.code) continue;
    if (after[key] !== probeContext[key]) return { kind: 'slow' };
  }
  const nextValue = next.value as PersistedSnapshot['value'];
  const nextKey = leafKey(nextValue);
  if (nextKey === undefined) return { kind: 'slow' };
  return {
    kind: 'step',
    entries,
    status: after.status === PROBE_STATUS ? undefined : after.status,
    value: nextValue,
    key: nextKey,
    valueChanged: next.value !== probe.value,
    closed: next.status === 'done',
  };
}

export type PersistedActionStep =
  | { ok: true; state: PersistedSnapshot; changedStatus: boolean; closed: boolean }
  | Extract<ActionTransitionResult, { ok: false }>;

/**
 * `applyActionEvent` for a persisted action: the same refusals, the same next snapshot (persisted).
 * Throws `INVALID_SNAPSHOT` as `restoreAction` does when the input is not a persisted action.
 */
export function stepPersistedAction(
  state: PersistedSnapshot,
  event: ActionEvent,
): PersistedActionStep {
  const key = ACTION_FAST ? admitAction(state) : undefined;
  if (key === undefined) return slowStep(state, event);
  const context = state.context as unknown as ActionContext;
  const status = context.status;
  if (FINAL_LEAVES.has(key)) {
    return {
      ok: false,
      reason: 'ACTION_CLOSED',
      status,
      message: `action ${context.id} is closed (${status}); ${event.type} ignored`,
    };
  }
  const variant = variantOf(event);
  if (variant === undefined) return slowStep(state, event);
  let byEvent = plans.get(key);
  if (!byEvent) {
    byEvent = new Map();
    plans.set(key, byEvent);
  }
  const eventKey = variant === '' ? event.type : `${event.type}|${variant}`;
  let byFlags = byEvent.get(eventKey);
  if (!byFlags) {
    byFlags = [];
    byEvent.set(eventKey, byFlags);
  }
  const flags =
    (context.scheduled === true ? 4 : 0) +
    (context.confirmationRequired ? 2 : 0) +
    (context.type === 'downloadonly' ? 1 : 0);
  let plan = byFlags[flags];
  if (!plan) {
    plan = derivePlan(state.value, context, event);
    byFlags[flags] = plan;
  }
  if (plan.kind === 'slow') return slowStep(state, event);
  if (plan.kind === 'refuse') {
    return {
      ok: false,
      reason: 'EVENT_NOT_ALLOWED',
      status,
      message: `action ${context.id} in ${status} does not take ${event.type}`,
    };
  }
  // One copy of the context, updated as xstate's `assign` would (same keys, same order): a spread
  // of a plain object clones its shape in one step, where adding keys one by one grew it.
  const nextContext: ActionContext = { ...context };
  const next = nextContext as unknown as Record<string, unknown>;
  for (const entryStatus of plan.entries) {
    const entry = entryFrom(entryStatus, event, context.createdAt);
    nextContext.lastModifiedAt = entry.at;
    const moved = historyWith(nextContext, entry);
    nextContext.history = moved.history;
    if (moved.historyDropped !== undefined) nextContext.historyDropped = moved.historyDropped;
    if (entry.code !== undefined) nextContext.lastStatusCode = entry.code;
  }
  if (plan.status !== undefined) nextContext.status = plan.status;
  const value = typeof plan.value === 'string' ? plan.value : { ...plan.value };
  const persisted = new TrustedAction(value, next, plan.key);
  return {
    ok: true,
    state: persisted,
    changedStatus: nextContext.status !== status || plan.valueChanged,
    closed: plan.closed,
  };
}

function admitAction(state: PersistedSnapshot): string | undefined {
  const trusted = TrustedAction.keyOf(state);
  if (trusted !== undefined) return trusted;
  return looksLikePersistedAction(state) ? leafKey(state.value) : undefined;
}

/** Marks a persisted action the core wrote, with its leaf key (when it has one in the usual shape). */
function trustAction(persisted: PersistedSnapshot): PersistedSnapshot {
  const key = leafKey(persisted.value);
  return key === undefined ? persisted : new TrustedAction(persisted.value, persisted.context, key);
}

function slowStep(state: PersistedSnapshot, event: ActionEvent): PersistedActionStep {
  const result = applyActionEvent(restoreAction(state), event);
  if (!result.ok) return result;
  const persisted = trustAction(persistAction(result.snapshot));
  return { ok: true, state: persisted, changedStatus: result.changedStatus, closed: result.closed };
}

/** `persistAction(createActionSnapshot(input))`, marked as written by the core. */
export function newPersistedAction(input: ActionInput): PersistedSnapshot {
  return trustAction(persistAction(createActionSnapshot(input)));
}
