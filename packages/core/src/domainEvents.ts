import { z } from 'zod';
import { ArtifactHashes, MetadataEntry } from './catalogue.js';
import { ActionStatus, ActionType, TargetUpdateStatus, Timestamp } from './vocabulary.js';

/** Target events carry what SIE's TARGET_* payloads need. */
export const TargetDomainEvent = z.object({
  type: z.enum(['TARGET_CREATED', 'TARGET_UPDATED', 'TARGET_DELETED']),
  controllerId: z.string(),
  updateStatus: TargetUpdateStatus,
  timestamp: Timestamp,
});
export type TargetDomainEvent = z.infer<typeof TargetDomainEvent>;

/** Action events carry what SIE's ACTION_* payloads need. */
export const ActionDomainEvent = z.object({
  type: z.enum(['ACTION_CREATED', 'ACTION_UPDATED']),
  actionId: z.number().int().positive(),
  actionStatus: ActionStatus,
  /** The last status code a device reported, as a string; `N/A` when none was. */
  lastActionStatusCode: z.string(),
  actionActive: z.boolean(),
  controllerId: z.string(),
  distributionSetId: z.number().int().positive(),
  distributionSetName: z.string(),
  distributionSetVersion: z.string(),
  timestamp: Timestamp,
});
export type ActionDomainEvent = z.infer<typeof ActionDomainEvent>;

export const AssignedModule = z.object({
  moduleId: z.number().int().positive(),
  moduleType: z.string(),
  moduleName: z.string(),
  moduleVersion: z.string(),
  artifacts: z.array(
    z.object({
      id: z.number().int().positive(),
      filename: z.string(),
      size: z.number().int(),
      hashes: ArtifactHashes,
    }),
  ),
  metadata: z.array(MetadataEntry),
});
export type AssignedModule = z.infer<typeof AssignedModule>;

export const AssignedTarget = z.object({
  actionId: z.number().int().positive(),
  controllerId: z.string(),
  securityToken: z.string(),
  type: ActionType,
  confirmation: z.enum(['not_applicable', 'pending', 'given']),
});
export type AssignedTarget = z.infer<typeof AssignedTarget>;

/**
 * One assignment of one distribution set, to any number of targets. Splitting into messages of at
 * most 1000 targets is the SIE publisher's job.
 */
export const UpdateAssignmentEvent = z.object({
  type: z.literal('UPDATE_ASSIGNMENT'),
  distributionSetId: z.number().int().positive(),
  softwareModules: z.array(AssignedModule),
  targets: z.array(AssignedTarget),
  timestamp: Timestamp,
});
export type UpdateAssignmentEvent = z.infer<typeof UpdateAssignmentEvent>;

export const DomainEvent = z.union([TargetDomainEvent, ActionDomainEvent, UpdateAssignmentEvent]);
export type DomainEvent = z.infer<typeof DomainEvent>;
export type DomainEventType = DomainEvent['type'];

export const DOMAIN_EVENT_TYPES = [
  'TARGET_CREATED',
  'TARGET_UPDATED',
  'TARGET_DELETED',
  'ACTION_CREATED',
  'ACTION_UPDATED',
  'UPDATE_ASSIGNMENT',
] as const satisfies readonly DomainEventType[];
