import { z } from 'zod';
import { type Collection, defineCollection } from './collections.js';
import { RolloutGroupConditions } from './rolloutConditions.js';
import { RolloutGroupStatus, RolloutStatus } from './rolloutMachine.js';
import { ActionType, Weight } from './vocabulary.js';

const audit = {
  createdAt: z.number(),
  createdBy: z.string(),
  lastModifiedAt: z.number(),
  lastModifiedBy: z.string(),
};

/** A rollout as stored: hawkBit's `MgmtRolloutResponseBody` fields, and what the engine needs. */
export const RolloutRecord = z.object({
  id: z.number().int().positive(),
  revision: z.number().int().nonnegative(),
  name: z.string().min(1).max(128),
  description: z.string().max(512).optional(),
  distributionSetId: z.number().int().positive(),
  targetFilterQuery: z.string().max(1024),
  status: RolloutStatus,
  type: ActionType,
  forcetime: z.number().int().nonnegative().optional(),
  weight: Weight.optional(),
  confirmationRequired: z.boolean(),
  /** Epoch ms at which a ready rollout starts by itself; none: started by hand. */
  startAt: z.number().int().nonnegative().optional(),
  /** The defaults of its groups. */
  conditions: RolloutGroupConditions,
  totalTargets: z.number().int().nonnegative(),
  approvalRemark: z.string().max(512).optional(),
  /** hawkBit's dynamic rollout: targets that match later join groups of `targetCount`. */
  dynamic: z.boolean().optional(),
  dynamicGroupTemplate: z
    .object({ nameSuffix: z.string().max(64), targetCount: z.number().int().positive() })
    .optional(),
  approveDecidedBy: z.string().optional(),
  deleted: z.boolean().default(false),
  /**
   * otaflow: an action counts as a success only once its device reported, after its restart,
   * that it runs the set (`reportInstalled`); one that does not within the time counts as an
   * error, so devices that brick on reboot trip the error threshold.
   */
  installedReport: z.object({ timeoutMs: z.number().int().positive() }).optional(),
  ...audit,
});
export type RolloutRecord = z.infer<typeof RolloutRecord>;

/** One deployment group; scoped `rollout:<id>` so that a rollout's groups are one list. */
export const RolloutGroupRecord = z.object({
  id: z.number().int().positive(),
  revision: z.number().int().nonnegative(),
  scope: z.string().min(1),
  rolloutId: z.number().int().positive(),
  /** Its place in the rollout: groups start in this order. */
  position: z.number().int().nonnegative(),
  name: z.string().min(1).max(128),
  description: z.string().max(512).optional(),
  status: RolloutGroupStatus,
  targetFilterQuery: z.string().max(1024).optional(),
  targetPercentage: z.number().gt(0).max(100),
  conditions: RolloutGroupConditions,
  confirmationRequired: z.boolean(),
  totalTargets: z.number().int().nonnegative(),
  /** Its success action is taken once. */
  successActionDone: z.boolean().default(false),
  /** Made for targets that matched after the rollout was created (a dynamic rollout's). */
  dynamic: z.boolean().optional(),
  /** Its members (hawkBit: at most 20,000 a group), fixed when the rollout is created. */
  targets: z.array(z.string()),
  ...audit,
});
export type RolloutGroupRecord = z.infer<typeof RolloutGroupRecord>;

export const ROLLOUTS: Collection<RolloutRecord> = defineCollection<RolloutRecord>('rollout', {
  name: { type: 'string' },
  description: { type: 'string' },
  status: { type: 'enum' },
  distributionSetId: { type: 'number' },
  targetFilterQuery: { type: 'string' },
  deleted: { type: 'boolean' },
  startAt: { type: 'timestamp' },
  createdAt: { type: 'timestamp' },
  lastModifiedAt: { type: 'timestamp' },
});

export const ROLLOUT_GROUPS: Collection<RolloutGroupRecord> = defineCollection<RolloutGroupRecord>(
  'rolloutGroup',
  {
    rolloutId: { type: 'number' },
    position: { type: 'number' },
    name: { type: 'string' },
    description: { type: 'string' },
    status: { type: 'enum' },
    createdAt: { type: 'timestamp' },
    lastModifiedAt: { type: 'timestamp' },
  },
);

export const rolloutScope = (rolloutId: number) => `rollout:${rolloutId}`;

/** hawkBit's quota: targets in one group. */
export const MAX_TARGETS_PER_ROLLOUT_GROUP = 20_000;

/** A stored target filter (hawkBit's `TargetFilterQuery`), with its auto-assignment if any. */
export const TargetFilterRecord = z.object({
  id: z.number().int().positive(),
  revision: z.number().int().nonnegative(),
  name: z.string().min(1).max(128),
  query: z.string().min(1).max(1024),
  /** Every target that matches, now or later, gets this set once. */
  autoAssign: z
    .object({
      distributionSetId: z.number().int().positive(),
      actionType: ActionType,
      weight: Weight.optional(),
      confirmationRequired: z.boolean(),
    })
    .optional(),
  ...audit,
});
export type TargetFilterRecord = z.infer<typeof TargetFilterRecord>;

export const TARGET_FILTERS: Collection<TargetFilterRecord> = defineCollection<TargetFilterRecord>(
  'targetFilter',
  {
    name: { type: 'string' },
    query: { type: 'string' },
    autoAssignDistributionSetId: { type: 'number', path: ['autoAssign', 'distributionSetId'] },
    createdAt: { type: 'timestamp' },
    lastModifiedAt: { type: 'timestamp' },
  },
);
