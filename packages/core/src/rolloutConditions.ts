import { z } from 'zod';
import type { RolloutGroupEvent, RolloutGroupStatus } from './rolloutMachine.js';

/** A percentage as hawkBit's conditions carry it: an integer in a string. */
const Percent = z.string().regex(/^\d{1,3}$/, 'an integer percentage');

/** hawkBit's condition JSON; enum values are upper-case on the wire. */
export const RolloutSuccessCondition = z.object({
  condition: z.literal('THRESHOLD').default('THRESHOLD'),
  expression: Percent.default('50'),
});
export const RolloutSuccessAction = z.object({
  action: z.enum(['NEXTGROUP', 'PAUSE']).default('NEXTGROUP'),
  expression: z.string().default(''),
});
export const RolloutErrorCondition = z.object({
  condition: z.literal('THRESHOLD').default('THRESHOLD'),
  expression: Percent.default('50'),
});
export const RolloutErrorAction = z.object({
  action: z.literal('PAUSE').default('PAUSE'),
  expression: z.string().default(''),
});

/** A group's four settings; a rollout's are the defaults of its groups (hawkBit's defaults here). */
export const RolloutGroupConditions = z.object({
  successCondition: RolloutSuccessCondition.default({ condition: 'THRESHOLD', expression: '50' }),
  successAction: RolloutSuccessAction.default({ action: 'NEXTGROUP', expression: '' }),
  errorCondition: RolloutErrorCondition.default({ condition: 'THRESHOLD', expression: '50' }),
  errorAction: RolloutErrorAction.default({ action: 'PAUSE', expression: '' }),
});
export type RolloutGroupConditions = z.infer<typeof RolloutGroupConditions>;

/** Action counts of one group, as the store counts them. */
export interface GroupCounts {
  /** Targets in the group (its actions; a deleted action leaves the count). */
  total: number;
  finished: number;
  /** DOWNLOADED: what counts as done for a download-only rollout. */
  downloaded: number;
  error: number;
  /** Actions not yet in a terminal state for the rollout's action type. */
  open: number;
}

/**
 * Success: done / total >= threshold (download-only rollouts count DOWNLOADED as done); a group
 * without targets has succeeded. Compared in integers: hawkBit's float division disagrees with
 * itself at the boundary.
 */
export function successConditionMet(
  counts: GroupCounts,
  conditions: RolloutGroupConditions,
  downloadOnly: boolean,
): boolean {
  if (counts.total === 0) return true;
  const done = downloadOnly ? counts.downloaded : counts.finished;
  return done * 100 >= Number(conditions.successCondition.expression) * counts.total;
}

/** Error: error / total > threshold; never for a group without targets. */
export function errorConditionMet(
  counts: GroupCounts,
  conditions: RolloutGroupConditions,
): boolean {
  if (counts.total === 0) return false;
  return counts.error * 100 > Number(conditions.errorCondition.expression) * counts.total;
}

/** One group as the evaluator sees it in a round. */
export interface GroupProgress {
  id: number;
  status: RolloutGroupStatus;
  conditions: RolloutGroupConditions;
  counts: GroupCounts;
  /** Whether its success action was taken already (it is taken once per group). */
  successActionDone: boolean;
  /**
   * The open-ended last group of a dynamic rollout: targets that match later keep joining it,
   * so it never completes by itself, and neither does its rollout (hawkBit: until `stop`).
   */
  dynamic?: boolean;
}

/** What one evaluation round decides for a running rollout; the caller carries it out. */
export interface RolloutRound {
  groups: { id: number; event: RolloutGroupEvent['type'] }[];
  /** Groups whose success action is taken in this round. */
  successActionsDone: number[];
  rollout?: 'rollout.pause' | 'rollout.finished';
}

/**
 * One round of hawkBit's executor over a running rollout's groups, in order: a group whose error
 * condition is met fails and pauses the rollout (nothing after it is looked at); otherwise a
 * group that reached its success condition, or whose actions all ended, takes its success action
 * once (start the next scheduled group, or pause: after the resume the next group starts), and a
 * group whose actions all ended finishes.
 * With no group running, the next scheduled one starts; with none left, the rollout finishes.
 */
export function planRolloutRound(
  groups: readonly GroupProgress[],
  downloadOnly: boolean,
): RolloutRound {
  const round: RolloutRound = { groups: [], successActionsDone: [] };
  const status = new Map(groups.map((g) => [g.id, g.status]));
  const startNext = (after: number) => {
    const next = groups.slice(after + 1).find((g) => status.get(g.id) === 'scheduled');
    if (!next) return;
    status.set(next.id, 'running');
    round.groups.push({ id: next.id, event: 'group.start' });
  };
  const running = groups.filter((g) => g.status === 'running');
  if (running.length === 0) startNext(-1);
  for (const group of running) {
    if (errorConditionMet(group.counts, group.conditions)) {
      status.set(group.id, 'error');
      round.groups.push({ id: group.id, event: 'group.fail' });
      round.rollout = 'rollout.pause';
      return round;
    }
    const complete = !group.dynamic && group.counts.open === 0;
    // A pause taken earlier was resumed since (rounds run on running rollouts only): go on.
    if (group.successActionDone && group.conditions.successAction.action === 'PAUSE')
      startNext(groups.indexOf(group));
    if (
      !group.successActionDone &&
      (complete || successConditionMet(group.counts, group.conditions, downloadOnly))
    ) {
      round.successActionsDone.push(group.id);
      if (group.conditions.successAction.action === 'PAUSE') round.rollout = 'rollout.pause';
      else startNext(groups.indexOf(group));
    }
    if (complete) {
      status.set(group.id, 'finished');
      round.groups.push({ id: group.id, event: 'group.complete' });
    }
  }
  const openEnded = groups.some((g) => g.dynamic && status.get(g.id) !== 'error');
  const settled =
    !openEnded && [...status.values()].every((s) => s === 'finished' || s === 'error');
  if (settled && round.rollout === undefined) round.rollout = 'rollout.finished';
  return round;
}
