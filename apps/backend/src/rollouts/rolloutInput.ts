import {
  ActionType,
  RolloutErrorAction,
  RolloutErrorCondition,
  RolloutSuccessAction,
  RolloutSuccessCondition,
  Weight,
} from '@otaflow/core';
import { z } from 'zod';

/** hawkBit spells action types lower-case; upper-case is accepted too. */
const LowerActionType = z.preprocess(
  (v) => (typeof v === 'string' ? v.toLowerCase() : v),
  ActionType,
);

const conditionFields = {
  successCondition: RolloutSuccessCondition.optional(),
  successAction: RolloutSuccessAction.optional(),
  errorCondition: RolloutErrorCondition.optional(),
  errorAction: RolloutErrorAction.optional(),
};

/** One group of `groups[]` (hawkBit's `MgmtRolloutGroup`). */
export const RolloutGroupCreate = z.object({
  name: z.string().min(1).max(128),
  description: z.string().max(512).optional(),
  targetFilterQuery: z.string().max(1024).optional(),
  targetPercentage: z.number().gt(0).max(100).default(100),
  confirmationRequired: z.boolean().optional(),
  ...conditionFields,
});
export type RolloutGroupCreate = z.infer<typeof RolloutGroupCreate>;

/** `POST /rollouts` (hawkBit's `MgmtRolloutRestRequestBodyPost`). */
export const RolloutCreate = z.object({
  name: z.string().min(1).max(128),
  description: z.string().max(512).optional(),
  distributionSetId: z.number().int(),
  targetFilterQuery: z.string().min(1).max(1024),
  type: LowerActionType.optional(),
  forcetime: z.number().int().nonnegative().optional(),
  weight: Weight.optional(),
  confirmationRequired: z.boolean().optional(),
  startAt: z.number().int().nonnegative().optional(),
  amountGroups: z.number().int().optional(),
  groups: z.array(RolloutGroupCreate).optional(),
  dynamic: z.boolean().optional(),
  /**
   * otaflow extension: count a device as successful only once it reports the set installed after
   * its restart (DDI `PUT installedBase`, SoftwareUpdatable `installedDependencies`), within
   * `installedReportTimeout` ms (default 10 minutes) of its success, else as an error.
   */
  requireInstalledReport: z.boolean().optional(),
  installedReportTimeout: z.number().int().positive().optional(),
  /** hawkBit's `MgmtDynamicRolloutGroupTemplate`: groups made for targets that match later. */
  dynamicGroupTemplate: z
    .object({
      nameSuffix: z.string().max(64).optional(),
      targetCount: z.number().int().positive().optional(),
    })
    .optional(),
  ...conditionFields,
});
export type RolloutCreate = z.infer<typeof RolloutCreate>;

/** `PUT /rollouts/{id}`: name and description only, as in hawkBit. */
export const RolloutUpdate = z.object({
  name: z.string().min(1).max(128).optional(),
  description: z.string().max(512).optional(),
});
export type RolloutUpdate = z.infer<typeof RolloutUpdate>;
