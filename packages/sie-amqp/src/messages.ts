import { ActionStatus, TargetUpdateStatus, Timestamp } from '@otaflow/core';
import { z } from 'zod';

/** The six topics of the SIE page, in its order. */
export const SIE_TOPICS = [
  'TARGET_CREATED',
  'TARGET_UPDATED',
  'TARGET_DELETED',
  'ACTION_CREATED',
  'ACTION_UPDATED',
  'UPDATE_ASSIGNMENT',
] as const;
export const SieTopic = z.enum(SIE_TOPICS);
export type SieTopic = z.infer<typeof SieTopic>;

export const SieEventType = z.enum(['TARGET_EVENT', 'ACTION_EVENT']);
export type SieEventType = z.infer<typeof SieEventType>;

/** The `type` header of each topic; the page files UPDATE_ASSIGNMENT under TARGET_EVENT. */
export const SIE_TOPIC_TYPES = {
  TARGET_CREATED: 'TARGET_EVENT',
  TARGET_UPDATED: 'TARGET_EVENT',
  TARGET_DELETED: 'TARGET_EVENT',
  ACTION_CREATED: 'ACTION_EVENT',
  ACTION_UPDATED: 'ACTION_EVENT',
  UPDATE_ASSIGNMENT: 'TARGET_EVENT',
} as const satisfies Record<SieTopic, SieEventType>;

/** The SIE page lets one assignment message carry at most this many targets. */
export const SIE_MAX_TARGETS_PER_MESSAGE = 1000;

export const SIE_CONTENT_TYPE = 'application/json';

/**
 * AMQP headers of every SIE message. `type` and `topic` stay plain strings so that a future topic
 * or type still parses (the page asks consumers to ignore unknown events, not to fail on them).
 */
export const SieHeaders = z.looseObject({
  type: z.string().min(1),
  topic: z.string().min(1),
  tenant: z.string().min(1),
});
export type SieHeaders = z.infer<typeof SieHeaders>;

/** hawkBit's REST API lower-cases enums while its Java enums are upper-case: accept both. */
const upperCased = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (typeof value === 'string' ? value.toUpperCase() : value), schema);

/** Body of TARGET_CREATED, TARGET_UPDATED and TARGET_DELETED. Extra fields pass through. */
export const TargetEventBody = z.looseObject({
  controllerId: z.string().min(1),
  updateStatus: upperCased(TargetUpdateStatus),
  timestamp: Timestamp,
});
export type TargetEventBody = z.infer<typeof TargetEventBody>;

/** Body of ACTION_CREATED and ACTION_UPDATED. */
export const ActionEventBody = z.looseObject({
  actionId: z.number().int().nonnegative(),
  actionStatus: upperCased(ActionStatus),
  /** `N/A` or the last code a device reported; a numeric code is read as its string. */
  lastActionStatusCode: z.union([z.string(), z.number()]).transform(String),
  actionActive: z.boolean(),
  controllerId: z.string().min(1),
  distributionSetName: z.string(),
  distributionSetVersion: z.string(),
  timestamp: Timestamp,
});
export type ActionEventBody = z.infer<typeof ActionEventBody>;

export const SieArtifactUrls = z.looseObject({
  COAP: z.string().optional(),
  HTTP: z.string().optional(),
  HTTPS: z.string().optional(),
});
export type SieArtifactUrls = z.infer<typeof SieArtifactUrls>;

export const SieArtifact = z.looseObject({
  filename: z.string(),
  hashes: z.looseObject({
    sha1: z.string().optional(),
    md5: z.string().optional(),
    sha256: z.string().optional(),
  }),
  size: z.number().int().nonnegative(),
  urls: SieArtifactUrls.default({}),
});
export type SieArtifact = z.infer<typeof SieArtifact>;

export const SieSoftwareModule = z.looseObject({
  moduleId: z.number().int().nonnegative(),
  moduleType: z.string(),
  moduleVersion: z.string(),
  moduleName: z.string(),
  artifacts: z.array(SieArtifact).default([]),
  metadata: z.array(z.looseObject({ key: z.string(), value: z.string() })).default([]),
});
export type SieSoftwareModule = z.infer<typeof SieSoftwareModule>;

/**
 * One target of an assignment. The SIE page's template names the token `targetSecurityToken`
 * (as hawkBit DMF does), its example `securityToken`; both are read and the result always
 * carries `securityToken`.
 */
export const SieAssignedTarget = z
  .looseObject({
    actionId: z.number().int().nonnegative(),
    controllerId: z.string().min(1),
    securityToken: z.string().optional(),
    targetSecurityToken: z.string().optional(),
    /** forced, soft, timeforced, downloadonly; kept open for types added later. */
    type: z.string(),
    /** not_applicable, pending or given. */
    confirmation: z.string().optional(),
  })
  .refine((t) => t.securityToken !== undefined || t.targetSecurityToken !== undefined, {
    message: 'a target needs securityToken or targetSecurityToken',
  })
  .transform(({ targetSecurityToken, securityToken, ...rest }) => ({
    ...rest,
    securityToken: (securityToken ?? targetSecurityToken) as string,
  }));
export type SieAssignedTarget = z.infer<typeof SieAssignedTarget>;

/** Body of UPDATE_ASSIGNMENT. */
export const UpdateAssignmentBody = z.looseObject({
  timestamp: Timestamp,
  softwareModules: z.array(SieSoftwareModule),
  targets: z.array(SieAssignedTarget),
});
export type UpdateAssignmentBody = z.infer<typeof UpdateAssignmentBody>;

/** The body schema of each topic. */
export const SIE_BODY_SCHEMAS = {
  TARGET_CREATED: TargetEventBody,
  TARGET_UPDATED: TargetEventBody,
  TARGET_DELETED: TargetEventBody,
  ACTION_CREATED: ActionEventBody,
  ACTION_UPDATED: ActionEventBody,
  UPDATE_ASSIGNMENT: UpdateAssignmentBody,
} as const satisfies Record<SieTopic, z.ZodType>;

export type SieBodies = { [T in SieTopic]: z.infer<(typeof SIE_BODY_SCHEMAS)[T]> };

/** One SIE message as the publisher sends it and the consumer hands it to a handler. */
export type SieMessage = {
  [T in SieTopic]: {
    topic: T;
    headers: { type: (typeof SIE_TOPIC_TYPES)[T]; topic: T; tenant: string };
    body: SieBodies[T];
  };
}[SieTopic];
