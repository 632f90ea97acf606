import type { ActionView } from './actions.js';
import type { ActionStatus, TargetUpdateStatus } from './vocabulary.js';

/**
 * hawkBit's quotas (`HawkbitSecurityProperties.Dos`), for what otaflow stores: every edge that
 * writes these things checks the same numbers.
 */
export const MAX_ATTRIBUTES_PER_TARGET = 100;
export const MAX_ARTIFACTS_PER_SOFTWARE_MODULE = 50;
export const MAX_SOFTWARE_MODULES_PER_DISTRIBUTION_SET = 100;
export const MAX_TARGETS_PER_MANUAL_ASSIGNMENT = 5000;

/** What a device should be shown next, in hawkBit's order. */
export type NextAction =
  | { kind: 'cancel'; action: ActionView }
  | { kind: 'confirmation'; action: ActionView }
  | { kind: 'deployment'; action: ActionView };

/** Highest weight first, then the oldest, then the lowest id (ids grow with time). */
export function compareActionPriority(a: ActionView, b: ActionView): number {
  return b.weight - a.weight || a.createdAt - b.createdAt || a.id - b.id;
}

/**
 * The one action a device sees on its next contact: a pending cancel goes first (oldest first,
 * as hawkBit serves cancelAction), then the active action with the highest weight, then the oldest.
 * Scheduled and closed actions are never shown.
 */
export function selectNextAction(actions: readonly ActionView[]): NextAction | undefined {
  let cancel: ActionView | undefined;
  let best: ActionView | undefined;
  for (const action of actions) {
    if (!action.active) continue;
    if (action.status === 'CANCELING') {
      if (
        !cancel ||
        action.createdAt < cancel.createdAt ||
        (action.createdAt === cancel.createdAt && action.id < cancel.id)
      ) {
        cancel = action;
      }
      continue;
    }
    if (!best || compareActionPriority(action, best) < 0) best = action;
  }
  if (cancel) return { kind: 'cancel', action: cancel };
  if (!best) return undefined;
  if (best.status === 'WAIT_FOR_CONFIRMATION') return { kind: 'confirmation', action: best };
  return { kind: 'deployment', action: best };
}

export interface AssignmentPlan {
  /** The same set is already being rolled out to this target: hawkBit creates no new action. */
  alreadyAssigned: boolean;
  /** Earlier active actions that the new one supersedes (they go to CANCELING). */
  cancel: number[];
}

/**
 * What assigning `distributionSetId` does to a target's actions, with multi-assignment off
 * (hawkBit's default): every earlier active action is canceled, unless the very same set is
 * still active, in which case nothing happens.
 */
export function planAssignment(
  actions: readonly ActionView[],
  distributionSetId: number,
): AssignmentPlan {
  const active = actions.filter((a) => a.active);
  if (active.some((a) => a.distributionSetId === distributionSetId && a.status !== 'CANCELING')) {
    return { alreadyAssigned: true, cancel: [] };
  }
  return {
    alreadyAssigned: false,
    cancel: active.filter((a) => a.status !== 'CANCELING').map((a) => a.id),
  };
}

/** A timeforced action counts as forced once its time has come. */
export function isForcedNow(action: Pick<ActionView, 'type' | 'forcedTime'>, now: number): boolean {
  if (action.type === 'forced') return true;
  if (action.type === 'timeforced')
    return action.forcedTime !== undefined && now >= action.forcedTime;
  return false;
}

/** SIE's `confirmation` field of an assignment. */
export function confirmationStateOf(
  action: Pick<ActionView, 'confirmationRequired' | 'status'>,
): 'not_applicable' | 'pending' | 'given' {
  if (!action.confirmationRequired) return 'not_applicable';
  return action.status === 'WAIT_FOR_CONFIRMATION' ? 'pending' : 'given';
}

export interface InSyncInput {
  assignedDistributionSetId?: number | undefined;
  installedDistributionSetId?: number | undefined;
  activeActions: number;
}

/** hawkBit: a target is IN_SYNC when what is assigned is installed and nothing is in flight. */
export function isInSync(t: InSyncInput): boolean {
  return t.activeActions === 0 && t.assignedDistributionSetId === t.installedDistributionSetId;
}

const CLOSED_OK: ReadonlySet<ActionStatus> = new Set(['FINISHED', 'CANCELED', 'DOWNLOADED']);

/**
 * The target status its actions imply: any active action -> PENDING; otherwise the outcome of the
 * action closed last; no action at all -> REGISTERED once the device made contact, else UNKNOWN.
 * The target machine must always agree with this (a property test holds it to that).
 */
export function deriveTargetStatus(
  actions: readonly ActionView[],
  contacted: boolean,
): TargetUpdateStatus {
  let last: ActionView | undefined;
  let started = false;
  for (const a of actions) {
    if (a.status === 'SCHEDULED') continue;
    started = true;
    if (a.active) return 'PENDING';
    if (
      !last ||
      a.lastModifiedAt > last.lastModifiedAt ||
      (a.lastModifiedAt === last.lastModifiedAt && a.id > last.id)
    )
      last = a;
  }
  if (!started || !last) return contacted ? 'REGISTERED' : 'UNKNOWN';
  return CLOSED_OK.has(last.status) ? 'IN_SYNC' : 'ERROR';
}
