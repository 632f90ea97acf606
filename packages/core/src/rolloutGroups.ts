import { OtaflowError } from './OtaflowError.js';

/** hawkBit's quota: groups per rollout. */
export const MAX_ROLLOUT_GROUPS = 500;

/** One group as a rollout's creation describes it. */
export interface GroupDefinition<T> {
  /** Which of the rollout's targets the group may take (its own filter, ANDed); all when unset. */
  matches?: (target: T) => boolean;
  /** Share of the targets still left (among those it may take), 0 < p <= 100. */
  targetPercentage: number;
}

/**
 * `amountGroups` as hawkBit splits it: each group a share of what is left, so that N groups
 * differ by at most one target (1/N of all, then 1/(N-1) of the rest, ...).
 */
export function amountGroupPercentages(amount: number): number[] {
  if (!Number.isInteger(amount) || amount < 1 || amount > MAX_ROLLOUT_GROUPS) {
    throw new OtaflowError(
      'INVALID_INPUT',
      `amountGroups must be between 1 and ${MAX_ROLLOUT_GROUPS}`,
    );
  }
  return Array.from({ length: amount }, (_, i) => 100 / (amount - i));
}

/** How many of `available` targets a group of `percentage` (of the rest) takes. */
export function groupSize(percentage: number, available: number): number {
  if (!(percentage > 0 && percentage <= 100)) {
    throw new OtaflowError('INVALID_INPUT', 'targetPercentage must be > 0 and <= 100');
  }
  return Math.min(available, Math.round((percentage * available) / 100));
}

/**
 * The rollout's targets split into its groups, in order: each group takes its share of the
 * targets it may take that no earlier group took, in the order given. Every target lands in at
 * most one group; one that lands in none is the caller's 400 ("groups don't match all targets"),
 * reported as `left`. The store does the same in SQL batches; this is its specification and the
 * in-memory path.
 */
export function splitTargets<T>(
  targets: readonly T[],
  groups: readonly GroupDefinition<T>[],
): { groups: T[][]; left: T[] } {
  if (groups.length === 0 || groups.length > MAX_ROLLOUT_GROUPS) {
    throw new OtaflowError(
      'INVALID_INPUT',
      `a rollout has between 1 and ${MAX_ROLLOUT_GROUPS} groups`,
    );
  }
  let left = [...targets];
  const result: T[][] = [];
  for (const group of groups) {
    const candidates = group.matches ? left.filter(group.matches) : left;
    const taken = candidates.slice(0, groupSize(group.targetPercentage, candidates.length));
    const takenSet = new Set(taken);
    left = left.filter((t) => !takenSet.has(t));
    result.push(taken);
  }
  return { groups: result, left };
}
