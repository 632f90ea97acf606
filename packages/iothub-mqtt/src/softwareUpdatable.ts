import { SUV2_STATUSES } from '@otaflow/core';
import { z } from 'zod';

/** The feature definition Rollouts looks for (SoftwareUpdatable 2.0.0; 1.0.0 flows differ). */
export const SUV2_DEFINITION = 'org.eclipse.hawkbit.swupdatable:SoftwareUpdatable:2.0.0';
export const DEFAULT_FEATURE_ID = 'SoftwareUpdatable';

/** The 18 statuses of `org.eclipse.hawkbit:Status:2.0.0`, from core's single list. */
export const Suv2StatusSchema = z.enum(SUV2_STATUSES);

/** SUv2 operations, i.e. the live message subjects sent to the feature inbox. */
export const SUV2_OPERATIONS = ['install', 'download', 'cancel', 'remove', 'cancelRemove'] as const;
export const Suv2Operation = z.enum(SUV2_OPERATIONS);
export type Suv2Operation = z.infer<typeof Suv2Operation>;

export const SoftwareModuleId = z.looseObject({
  name: z.string().min(1),
  version: z.string().min(1),
});
export type SoftwareModuleId = z.infer<typeof SoftwareModuleId>;

export const DependencyDescription = z.object({
  group: z.string().min(1),
  name: z.string().min(1),
  version: z.string().min(1),
  type: z.string().optional(),
});
export type DependencyDescription = z.infer<typeof DependencyDescription>;

export const Links = z.object({ url: z.string().min(1), md5url: z.string().optional() });
export type Links = z.infer<typeof Links>;

export const DownloadProtocol = z.enum(['HTTP', 'HTTPS', 'FTP', 'SFTP']);
export type DownloadProtocol = z.infer<typeof DownloadProtocol>;
export const HashAlgorithm = z.enum(['SHA1', 'MD5', 'SHA256']);
export type HashAlgorithm = z.infer<typeof HashAlgorithm>;

export const SoftwareArtifactAction = z.object({
  filename: z.string().min(1),
  download: z.partialRecord(DownloadProtocol, Links),
  checksums: z.partialRecord(HashAlgorithm, z.string().regex(/^[0-9a-fA-F]+$/)),
  size: z.number().int().nonnegative(),
});
export type SoftwareArtifactAction = z.infer<typeof SoftwareArtifactAction>;

const Metadata = z.record(z.string(), z.string());

/** Kanto writes `metaData`, Vorto and container-management `metadata`: both are read. */
function withMetadata(input: unknown): unknown {
  if (input && typeof input === 'object' && !('metadata' in input) && 'metaData' in input) {
    const { metaData, ...rest } = input as Record<string, unknown>;
    return { ...rest, metadata: metaData };
  }
  return input;
}

export const SoftwareModuleAction = z.preprocess(
  withMetadata,
  z.object({
    softwareModule: SoftwareModuleId,
    /** Left out in a cancel request. */
    artifacts: z.array(SoftwareArtifactAction).optional(),
    metadata: Metadata.optional(),
  }),
);
export type SoftwareModuleAction = z.infer<typeof SoftwareModuleAction>;

/** Parameter of install, download and cancel. */
export const SoftwareUpdateAction = z.preprocess(
  withMetadata,
  z.object({
    correlationId: z.string().min(1),
    softwareModules: z.array(SoftwareModuleAction).min(1),
    /** Bosch sends `null` when the assignment named no weight. */
    weight: z.number().int().min(0).max(1000).nullable().optional(),
    metadata: Metadata.optional(),
    forced: z.boolean().optional(),
  }),
);
export type SoftwareUpdateAction = z.infer<typeof SoftwareUpdateAction>;

/** Parameter of remove and cancelRemove. */
export const SoftwareRemoveAction = z.preprocess(
  withMetadata,
  z.object({
    correlationId: z.string().min(1),
    software: z.array(DependencyDescription).min(1),
    weight: z.number().int().min(0).max(1000).nullable().optional(),
    metadata: Metadata.optional(),
    forced: z.boolean().optional(),
  }),
);
export type SoftwareRemoveAction = z.infer<typeof SoftwareRemoveAction>;

/** Kanto (since aceebb9) writes `correlationID` and `Software`; read both spellings. */
function normalizeOperationStatus(input: unknown): unknown {
  if (!input || typeof input !== 'object') return input;
  const raw = input as Record<string, unknown>;
  if (!('correlationID' in raw) && !('Software' in raw)) return input;
  const { correlationID, Software, ...rest } = raw;
  if (rest.correlationId === undefined && correlationID !== undefined)
    rest.correlationId = correlationID;
  if (rest.software === undefined && Software !== undefined) rest.software = Software;
  return rest;
}

/**
 * `lastOperation` / `lastFailedOperation`. `status` is any string so an unknown status (Kanto's
 * DOWNLOADED_FILE_STORED) is kept and handed to the mapping, which ignores it; `statusCode` is a
 * number (Vorto) or a string (Kanto).
 */
const OperationStatusFields = z.object({
  correlationId: z.string().min(1),
  status: z.string().min(1),
  softwareModule: SoftwareModuleId.optional(),
  software: z.array(DependencyDescription).optional(),
  progress: z.number().min(0).max(100).optional(),
  message: z.string().optional(),
  statusCode: z.union([z.number(), z.string()]).optional(),
});
export const OperationStatus = z.preprocess(normalizeOperationStatus, OperationStatusFields);
export type OperationStatus = z.infer<typeof OperationStatus>;

/**
 * `OperationStatus.safeParse` in one zod pass (a preprocess is a pipe: a second pass), for the
 * commander's hot path: every `lastOperation` report goes through here.
 */
export function safeParseOperationStatus(input: unknown) {
  return OperationStatusFields.safeParse(normalizeOperationStatus(input));
}

export const SoftwareUpdatableStatus = z.object({
  softwareModuleType: z.string().min(1),
  installedDependencies: z.record(z.string(), DependencyDescription).optional(),
  contextDependencies: z.record(z.string(), DependencyDescription).optional(),
  lastOperation: OperationStatus.nullable().optional(),
  lastFailedOperation: OperationStatus.nullable().optional(),
});
export type SoftwareUpdatableStatus = z.infer<typeof SoftwareUpdatableStatus>;

/** The whole feature as a device announces it. */
export const SoftwareUpdatableFeature = z.object({
  definition: z.array(z.string()).refine((d) => d.includes(SUV2_DEFINITION), {
    message: `definition must include ${SUV2_DEFINITION}`,
  }),
  properties: z.object({ status: SoftwareUpdatableStatus }),
});
export type SoftwareUpdatableFeature = z.infer<typeof SoftwareUpdatableFeature>;

export function softwareUpdatableFeature(
  status: SoftwareUpdatableStatus,
): SoftwareUpdatableFeature {
  return { definition: [SUV2_DEFINITION], properties: { status } };
}

export function featurePath(featureId: string): string {
  return `/features/${featureId}`;
}

export function statusPropertyPath(
  featureId: string,
  property:
    | 'lastOperation'
    | 'lastFailedOperation'
    | 'installedDependencies'
    | 'softwareModuleType',
): string {
  return `/features/${featureId}/properties/status/${property}`;
}

/** Vorto recommends `group.name:version` as the dictionary key. */
export function dependencyKey(dependency: DependencyDescription): string {
  return `${dependency.group}.${dependency.name}:${dependency.version}`;
}

/** Statuses after which the operation is over. */
export function isFinalStatus(status: string): boolean {
  return status.startsWith('FINISHED_');
}

/** Statuses also written to `lastFailedOperation` (Vorto: "a finished with error"). */
export function isFailedStatus(status: string): boolean {
  return status === 'FINISHED_ERROR' || status === 'FINISHED_REJECTED';
}

/** `statusCode` as a number when it is one (Kanto sends exit codes as strings). */
export function numericStatusCode(code: number | string | undefined): number | undefined {
  if (typeof code === 'number') return Number.isInteger(code) ? code : undefined;
  if (typeof code === 'string' && /^-?\d+$/.test(code.trim())) return Number(code.trim());
  return undefined;
}
