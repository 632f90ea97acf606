import { z } from 'zod';
import { PersistedSnapshot } from './persistence.js';
import { ControllerId, Timestamp } from './vocabulary.js';

/** How a target is reached; adapters pick the channel they serve, apps may add their own. */
export const TargetChannel = z.enum(['ddi', 'mqtt', 'huawei']);
export type TargetChannel = z.infer<typeof TargetChannel>;

export const AutoConfirm = z.object({
  active: z.boolean(),
  initiator: z.string().max(64).optional(),
  remark: z.string().max(512).optional(),
  activatedAt: Timestamp.optional(),
});
export type AutoConfirm = z.infer<typeof AutoConfirm>;

/** hawkBit keeps a group in a 256-character column. */
export const TargetGroup = z.string().min(1).max(256);

/** A target as stored: its metadata plus its persisted machine. */
export const TargetRecord = z.object({
  controllerId: ControllerId,
  name: z.string().max(128),
  description: z.string().max(512).optional(),
  securityToken: z.string().min(1).max(128),
  address: z.string().max(512).optional(),
  channel: TargetChannel.optional(),
  /** hawkBit's target group: a path, `/` between its levels (`Europe/East`). */
  group: TargetGroup.optional(),
  /** hawkBit's configData: free key/value attributes the device reports. */
  attributes: z.record(z.string(), z.string()),
  /** hawkBit asks the device for its configData again when this is set. */
  requestAttributes: z.boolean(),
  autoConfirm: AutoConfirm.optional(),
  /** hawkBit's target type (its id): which distribution-set types the target accepts. */
  targetType: z.number().int().positive().optional(),
  /** Optimistic concurrency: every write must name the version it read. */
  version: z.number().int().nonnegative(),
  state: PersistedSnapshot,
});
export type TargetRecord = z.infer<typeof TargetRecord>;

/** The action ref a device's report of what it runs after its restart leaves (`reportInstalled`). */
export const INSTALLED_REPORT_REF = 'installed.reportedAt';

/** How many report keys an action keeps for `apply(..., { once })`; the oldest goes first. */
export const MAX_APPLIED_KEYS = 32;

export const ActionRecord = z.object({
  id: z.number().int().positive(),
  controllerId: ControllerId,
  version: z.number().int().nonnegative(),
  /** Protocol references, e.g. `suv2.correlationId` or `huawei.operation`, for matching reports. */
  refs: z.record(z.string(), z.string()).optional(),
  /**
   * Keys of the reports this action took through `apply(..., { once })`, oldest first, at most
   * `MAX_APPLIED_KEYS`: stored with the transition itself, so a redelivery is recognised after a
   * restart and by every process sharing the store, not only by the one that took it first.
   */
  applied: z.array(z.string()).max(MAX_APPLIED_KEYS).optional(),
  state: PersistedSnapshot,
});
export type ActionRecord = z.infer<typeof ActionRecord>;
