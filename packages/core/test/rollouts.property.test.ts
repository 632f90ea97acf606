import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  amountGroupPercentages,
  errorConditionMet,
  type GroupCounts,
  type GroupProgress,
  groupSize,
  planRolloutRound,
  RolloutGroupConditions,
  RolloutGroupStatus,
  splitTargets,
  successConditionMet,
} from '../src/index.js';

const percent = fc.integer({ min: 1, max: 100 });

describe('group splitting', () => {
  it('amountGroups: every target in exactly one group, sizes differing by at most one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 1, max: 60 }),
        (n, amount) => {
          const targets = Array.from({ length: n }, (_, i) => i);
          const groups = amountGroupPercentages(amount).map((p) => ({ targetPercentage: p }));
          const { groups: split, left } = splitTargets(targets, groups);
          expect(left).toEqual([]);
          expect(split.flat().sort((a, b) => a - b)).toEqual(targets);
          const sizes = split.map((g) => g.length);
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('explicit groups: each takes its share of what it may take and is left, none twice', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 400 }),
        fc.array(fc.record({ percent, only: fc.option(fc.integer({ min: 0, max: 3 })) }), {
          minLength: 1,
          maxLength: 8,
        }),
        (kinds, definitions) => {
          const targets = kinds.map((kind, id) => ({ id, kind }));
          const groups = definitions.map((d) => ({
            targetPercentage: d.percent,
            ...(d.only === null ? {} : { matches: (t: { kind: number }) => t.kind === d.only }),
          }));
          const { groups: split, left } = splitTargets(targets, groups);
          const all = [...split.flat(), ...left].map((t) => t.id).sort((a, b) => a - b);
          expect(all).toEqual(targets.map((t) => t.id));
          let remaining = targets;
          split.forEach((taken, i) => {
            const d = definitions[i]!;
            const candidates = remaining.filter((t) => d.only === null || t.kind === d.only);
            expect(taken.length).toBe(groupSize(d.percent, candidates.length));
            expect(taken.every((t) => d.only === null || t.kind === d.only)).toBe(true);
            remaining = remaining.filter((t) => !taken.includes(t));
          });
        },
      ),
    );
  });

  it('a last group of 100 % without a filter takes every target left', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 500 }),
        fc.array(percent, { maxLength: 5 }),
        (n, ps) => {
          const targets = Array.from({ length: n }, (_, i) => i);
          const groups = [...ps, 100].map((p) => ({ targetPercentage: p }));
          expect(splitTargets(targets, groups).left).toEqual([]);
        },
      ),
    );
  });

  it('refuses what hawkBit refuses', () => {
    expect(() => amountGroupPercentages(0)).toThrow();
    expect(() => amountGroupPercentages(501)).toThrow();
    expect(() => groupSize(0, 10)).toThrow();
    expect(() => groupSize(101, 10)).toThrow();
    expect(() => splitTargets([1], [])).toThrow();
  });
});

const countsArb = fc
  .record({
    finished: fc.nat(50),
    downloaded: fc.nat(50),
    error: fc.nat(50),
    open: fc.nat(50),
    canceled: fc.nat(10),
  })
  .map(
    (c): GroupCounts => ({
      total: c.finished + c.downloaded + c.error + c.open + c.canceled,
      finished: c.finished,
      downloaded: c.downloaded,
      error: c.error,
      open: c.open,
    }),
  );
const conditionsArb = fc
  .record({
    success: percent,
    error: fc.integer({ min: 0, max: 100 }),
    action: fc.constantFrom('NEXTGROUP' as const, 'PAUSE' as const),
  })
  .map((c) =>
    RolloutGroupConditions.parse({
      successCondition: { condition: 'THRESHOLD', expression: String(c.success) },
      successAction: { action: c.action, expression: '' },
      errorCondition: { condition: 'THRESHOLD', expression: String(c.error) },
    }),
  );

describe('conditions', () => {
  it('success is done / total >= threshold; error is error / total > threshold', () => {
    fc.assert(
      fc.property(countsArb, conditionsArb, fc.boolean(), (counts, conditions, downloadOnly) => {
        const done = downloadOnly ? counts.downloaded : counts.finished;
        const s = Number(conditions.successCondition.expression);
        const e = Number(conditions.errorCondition.expression);
        expect(successConditionMet(counts, conditions, downloadOnly)).toBe(
          counts.total === 0 || done / counts.total >= s / 100 - 1e-12,
        );
        expect(errorConditionMet(counts, conditions)).toBe(
          counts.total > 0 && counts.error / counts.total > e / 100 + 1e-12,
        );
      }),
    );
  });

  it('hawkBit defaults: 50 % success starts the next group, more than 50 % errors pause', () => {
    const defaults = RolloutGroupConditions.parse({});
    const counts = { total: 10, finished: 5, downloaded: 0, error: 0, open: 5 };
    expect(successConditionMet(counts, defaults, false)).toBe(true);
    expect(errorConditionMet({ ...counts, finished: 0, error: 5 }, defaults)).toBe(false);
    expect(errorConditionMet({ ...counts, finished: 0, error: 6 }, defaults)).toBe(true);
  });
});

const groupsArb = fc
  .array(
    fc.record({
      status: fc.constantFrom(
        ...RolloutGroupStatus.options.filter((s) => s !== 'creating' && s !== 'ready'),
      ),
      conditions: conditionsArb,
      counts: countsArb,
      successActionDone: fc.boolean(),
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((gs) => gs.map((g, i): GroupProgress => ({ ...g, id: i + 1 })));

describe('an evaluation round', () => {
  it('only moves open groups, each once, along the group machine', () => {
    fc.assert(
      fc.property(groupsArb, fc.boolean(), (groups, downloadOnly) => {
        const round = planRolloutRound(groups, downloadOnly);
        const ids = round.groups.map((g) => g.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const { id, event } of round.groups) {
          const before = groups.find((g) => g.id === id)!.status;
          if (event === 'group.start') expect(before).toBe('scheduled');
          else expect(before).toBe('running');
        }
        for (const id of round.successActionsDone) {
          const g = groups.find((x) => x.id === id)!;
          expect(g.status).toBe('running');
          expect(g.successActionDone).toBe(false);
        }
      }),
    );
  });

  it('a tripped error condition fails its group and pauses the rollout', () => {
    fc.assert(
      fc.property(groupsArb, (groups) => {
        const round = planRolloutRound(groups, false);
        const failed = round.groups.filter((g) => g.event === 'group.fail');
        expect(failed.length).toBeLessThanOrEqual(1);
        if (failed.length === 1) expect(round.rollout).toBe('rollout.pause');
        const firstTripped = groups.find(
          (g) => g.status === 'running' && errorConditionMet(g.counts, g.conditions),
        );
        expect(failed[0]?.id).toBe(firstTripped?.id);
      }),
    );
  });

  it('finishes the rollout exactly when every group ends up finished or failed', () => {
    fc.assert(
      fc.property(groupsArb, fc.boolean(), (groups, downloadOnly) => {
        const round = planRolloutRound(groups, downloadOnly);
        const after = new Map(groups.map((g) => [g.id, g.status as string]));
        const to = {
          'group.start': 'running',
          'group.complete': 'finished',
          'group.fail': 'error',
        };
        for (const { id, event } of round.groups) after.set(id, to[event as keyof typeof to]);
        const settled = [...after.values()].every((s) => s === 'finished' || s === 'error');
        if (round.rollout !== 'rollout.pause')
          expect(round.rollout === 'rollout.finished').toBe(settled);
      }),
    );
  });

  it('canary, then waves: the next group starts once the canary reaches its threshold', () => {
    const conditions = RolloutGroupConditions.parse({
      successCondition: { condition: 'THRESHOLD', expression: '100' },
      errorCondition: { condition: 'THRESHOLD', expression: '20' },
    });
    const group = (id: number, status: GroupProgress['status'], counts: Partial<GroupCounts>) => ({
      id,
      status,
      conditions,
      successActionDone: false,
      counts: { total: 5, finished: 0, downloaded: 0, error: 0, open: 5, ...counts },
    });
    expect(
      planRolloutRound(
        [group(1, 'running', { finished: 5, open: 0 }), group(2, 'scheduled', {})],
        false,
      ),
    ).toEqual({
      groups: [
        { id: 2, event: 'group.start' },
        { id: 1, event: 'group.complete' },
      ],
      successActionsDone: [1],
    });
    expect(
      planRolloutRound(
        [group(1, 'running', { error: 2, open: 3 }), group(2, 'scheduled', {})],
        false,
      ).rollout,
    ).toBe('rollout.pause');
  });
});
