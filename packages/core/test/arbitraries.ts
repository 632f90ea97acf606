import fc from 'fast-check';
import { ActionEvent, type ActionInput, type TargetEvent } from '../src/index.js';

/** What a device may report while a cancel is pending (`cancel.progress`). */
export const REPORTED = [
  'RETRIEVED',
  'DOWNLOAD',
  'DOWNLOADED',
  'RUNNING',
  'CANCELING',
  'WARNING',
] as const;

const SIMPLE_TYPES = ActionEvent.options
  .map((o) => o.shape.type.value)
  .filter((t) => t !== 'action.finished' && t !== 'cancel.progress');

/**
 * Any event of the action union without its report fields, `finished` and `progress` with every
 * variant their guards look at; `at` comes from the caller so time only moves forward.
 */
export const actionEventBody = fc.oneof(
  fc.constantFrom(...SIMPLE_TYPES).map((type) => ({ type })),
  fc.record(
    {
      type: fc.constant('action.finished' as const),
      result: fc.constantFrom('success' as const, 'failure' as const),
      warning: fc.boolean(),
    },
    { requiredKeys: ['type', 'result'] },
  ),
  fc.record({
    type: fc.constant('cancel.progress' as const),
    reported: fc.constantFrom(...REPORTED),
  }),
);

/** Optional messages and code, as devices send them or not. */
export const reportFields = fc.tuple(
  fc.option(fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }), { nil: undefined }),
  fc.option(fc.integer({ min: -5, max: 500 }), { nil: undefined }),
);

/** Any target event without `at`, over a few distribution sets. */
export const targetEventBody: fc.Arbitrary<Omit<TargetEvent, 'at'>> = fc.oneof(
  fc.constant({ type: 'target.contacted' as const }),
  fc.record({
    type: fc.constant('target.assigned' as const),
    distributionSetId: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({
    type: fc.constant('target.actionSucceeded' as const),
    distributionSetId: fc.integer({ min: 1, max: 4 }),
    othersActive: fc.boolean(),
  }),
  fc.record({
    type: fc.constantFrom(
      'target.actionDownloaded' as const,
      'target.actionFailed' as const,
      'target.actionCanceled' as const,
    ),
    othersActive: fc.boolean(),
  }),
);

/** An action's input with every flag its guards look at, and a small history bound. */
export const actionInputFor = (id: number, controllerId: string): fc.Arbitrary<ActionInput> =>
  fc
    .record({
      type: fc.constantFrom(
        'forced' as const,
        'soft' as const,
        'timeforced' as const,
        'downloadonly' as const,
      ),
      confirmationRequired: fc.boolean(),
      scheduled: fc.boolean(),
      maxHistory: fc.integer({ min: 1, max: 6 }),
    })
    .map((o) => ({
      id,
      controllerId,
      distributionSetId: 1,
      distributionSetName: 'os',
      distributionSetVersion: '1',
      weight: 10,
      createdAt: 1_000,
      ...o,
    }));
