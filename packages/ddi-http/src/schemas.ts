import { DDI_EXECUTIONS } from '@otaflow/core';
import { z } from 'zod';

/**
 * DDI v1 JSON models (hawkBit `hawkbit-ddi-api` json model). zod objects strip unknown keys, so
 * every field hawkBit or a client adds later is accepted and ignored, as hawkBit does.
 */

/** Ids are strings in hawkBit's JSON; some clients send numbers. Both parse to a string. */
const Id = z.union([z.string(), z.number()]).transform(String);

export const DdiHandling = z.enum(['skip', 'attempt', 'forced']);
export type DdiHandling = z.infer<typeof DdiHandling>;

export const DdiMaintenanceWindowStatus = z.enum(['available', 'unavailable']);
export type DdiMaintenanceWindowStatus = z.infer<typeof DdiMaintenanceWindowStatus>;

export const DdiLink = z.object({ href: z.string().min(1) });
export type DdiLink = z.infer<typeof DdiLink>;

export const DdiPolling = z.object({ sleep: z.string() });
export const DdiConfig = z.object({ polling: DdiPolling });
export type DdiConfig = z.infer<typeof DdiConfig>;

export const DdiControllerBase = z.object({
  config: DdiConfig,
  _links: z
    .object({
      deploymentBase: DdiLink.optional(),
      confirmationBase: DdiLink.optional(),
      cancelAction: DdiLink.optional(),
      installedBase: DdiLink.optional(),
      configData: DdiLink.optional(),
    })
    .optional(),
});
export type DdiControllerBase = z.infer<typeof DdiControllerBase>;

export const DdiArtifactHashes = z.object({
  sha1: z.string().optional(),
  md5: z.string().optional(),
  sha256: z.string().optional(),
});
export type DdiArtifactHashes = z.infer<typeof DdiArtifactHashes>;

export const DdiArtifact = z.object({
  filename: z.string().min(1),
  hashes: DdiArtifactHashes,
  size: z.number().int().nonnegative(),
  _links: z
    .object({
      download: DdiLink.optional(),
      'download-http': DdiLink.optional(),
      md5sum: DdiLink.optional(),
      'md5sum-http': DdiLink.optional(),
    })
    .optional(),
});
export type DdiArtifact = z.infer<typeof DdiArtifact>;

export const DdiArtifacts = z.array(DdiArtifact);

export const DdiMetadata = z.object({ key: z.string(), value: z.string() });
export type DdiMetadata = z.infer<typeof DdiMetadata>;

export const DdiChunk = z.object({
  part: z.string(),
  version: z.string(),
  name: z.string(),
  encrypted: z.boolean().optional(),
  artifacts: z.array(DdiArtifact).default([]),
  metadata: z.array(DdiMetadata).optional(),
});
export type DdiChunk = z.infer<typeof DdiChunk>;

export const DdiDeployment = z.object({
  download: DdiHandling.optional(),
  update: DdiHandling.optional(),
  maintenanceWindow: DdiMaintenanceWindowStatus.optional(),
  chunks: z.array(DdiChunk),
});
export type DdiDeployment = z.infer<typeof DdiDeployment>;

export const DdiActionHistory = z.object({
  status: z.string(),
  messages: z.array(z.string()).default([]),
});
export type DdiActionHistory = z.infer<typeof DdiActionHistory>;

export const DdiDeploymentBase = z.object({
  id: Id,
  deployment: DdiDeployment,
  actionHistory: DdiActionHistory.optional(),
});
export type DdiDeploymentBase = z.infer<typeof DdiDeploymentBase>;

export const DdiConfirmationBaseAction = z.object({
  id: Id,
  confirmation: DdiDeployment,
  actionHistory: DdiActionHistory.optional(),
});
export type DdiConfirmationBaseAction = z.infer<typeof DdiConfirmationBaseAction>;

export const DdiAutoConfirmationState = z.object({
  active: z.boolean(),
  initiator: z.string().optional(),
  remark: z.string().optional(),
  activatedAt: z.number().optional(),
});
export type DdiAutoConfirmationState = z.infer<typeof DdiAutoConfirmationState>;

export const DdiConfirmationBase = z.object({
  autoConfirm: DdiAutoConfirmationState,
  _links: z
    .object({
      activateAutoConfirm: DdiLink.optional(),
      deactivateAutoConfirm: DdiLink.optional(),
      confirmationBase: DdiLink.optional(),
    })
    .optional(),
});
export type DdiConfirmationBase = z.infer<typeof DdiConfirmationBase>;

export const DdiCancel = z.object({ id: Id, cancelAction: z.object({ stopId: Id }) });
export type DdiCancel = z.infer<typeof DdiCancel>;

/** The executions core maps (`mapDdiFeedback`), so the edge accepts exactly what the model knows. */
export const DdiExecutionStatus = z.enum(DDI_EXECUTIONS);
export type DdiExecutionStatus = z.infer<typeof DdiExecutionStatus>;

export const DdiFinishedStatus = z.enum(['success', 'failure', 'none']);
export type DdiFinishedStatus = z.infer<typeof DdiFinishedStatus>;

/** suricatta sends `cnt` greater than `of` from its log thread, so the two are not compared. */
export const DdiProgress = z.object({ cnt: z.number().int(), of: z.number().int().optional() });
export type DdiProgress = z.infer<typeof DdiProgress>;

export const DdiResult = z.object({
  finished: DdiFinishedStatus,
  progress: DdiProgress.optional(),
});
export type DdiResult = z.infer<typeof DdiResult>;

export const DdiStatus = z.object({
  execution: DdiExecutionStatus,
  result: DdiResult,
  code: z.number().int().optional(),
  details: z.array(z.string()).optional(),
});
export type DdiStatus = z.infer<typeof DdiStatus>;

/** Legacy fields `id` (string or number) and `time` are tolerated: older clients still send them. */
const legacy = {
  id: z.union([z.string(), z.number()]).optional(),
  time: z.string().optional(),
};

export const DdiActionFeedback = z.object({
  timestamp: z.number().int().nonnegative().optional(),
  status: DdiStatus,
  ...legacy,
});
export type DdiActionFeedback = z.infer<typeof DdiActionFeedback>;

export const DdiUpdateMode = z.enum(['merge', 'replace', 'remove']);
export type DdiUpdateMode = z.infer<typeof DdiUpdateMode>;

/** In `merge` a null value deletes its key (hawkBit). */
export const DdiConfigData = z.object({
  data: z
    .record(z.string(), z.string().nullable())
    .refine((d) => Object.keys(d).length > 0, 'data must not be empty'),
  mode: DdiUpdateMode.optional(),
  ...legacy,
  status: z.unknown().optional(),
});
export type DdiConfigData = z.infer<typeof DdiConfigData>;

export const DdiConfirmationFeedbackStatus = z.enum(['confirmed', 'denied']);
export const DdiConfirmationFeedback = z.object({
  confirmation: DdiConfirmationFeedbackStatus,
  code: z.number().int().optional(),
  details: z.array(z.string()).optional(),
});
export type DdiConfirmationFeedback = z.infer<typeof DdiConfirmationFeedback>;

export const DdiActivateAutoConfirmation = z.object({
  initiator: z.string().max(64).optional(),
  remark: z.string().max(512).optional(),
});
export type DdiActivateAutoConfirmation = z.infer<typeof DdiActivateAutoConfirmation>;

export const DdiAssignedVersion = z.object({ name: z.string().min(1), version: z.string().min(1) });
export type DdiAssignedVersion = z.infer<typeof DdiAssignedVersion>;

/** hawkBit's error body (`ExceptionInfo`). */
export const DdiExceptionInfo = z.object({
  exceptionClass: z.string(),
  errorCode: z.string(),
  message: z.string(),
  info: z.record(z.string(), z.unknown()).optional(),
});
export type DdiExceptionInfo = z.infer<typeof DdiExceptionInfo>;
