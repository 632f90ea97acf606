import type { ServerResponse } from 'node:http';
import { sendJson } from './sendJson.js';

const REPO = 'org.eclipse.hawkbit.repository.exception';

/**
 * hawkBit's error catalogue: the `errorCode` and `exceptionClass` of its ExceptionInfo body for
 * every failure the DDI server and the Management API report.
 */
export const HAWKBIT_ERRORS = {
  locked: {
    errorCode: 'hawkbit.server.error.locked',
    exceptionClass: `${REPO}.LockedException`,
  },
  deleted: {
    errorCode: 'hawkbit.server.error.deleted',
    exceptionClass: `${REPO}.DeletedException`,
  },
  dsInvalid: {
    errorCode: 'hawkbit.server.error.distributionset.invalid',
    exceptionClass: `${REPO}.InvalidDistributionSetException`,
  },
  targetTypeInUse: {
    errorCode: 'hawkbit.server.error.target.type.used',
    exceptionClass: `${REPO}.TargetTypeInUseException`,
  },
  targetTypeIncompatible: {
    errorCode: 'hawkbit.server.error.target.type.incompatible',
    exceptionClass: `${REPO}.IncompatibleTargetTypeException`,
  },
  entityReadOnly: {
    errorCode: 'hawkbit.server.error.entityReadOnly',
    exceptionClass: `${REPO}.EntityReadOnlyException`,
  },
  rolloutIllegalState: {
    errorCode: 'hawkbit.server.error.rollout.illegalState',
    exceptionClass: `${REPO}.RolloutIllegalStateException`,
  },
  notFound: {
    errorCode: 'hawkbit.server.error.repo.entityNotFound',
    exceptionClass: `${REPO}.EntityNotFoundException`,
  },
  exists: {
    errorCode: 'hawkbit.server.error.repo.entityAlreadyExists',
    exceptionClass: `${REPO}.EntityAlreadyExistsException`,
  },
  notReadable: {
    errorCode: 'hawkbit.server.error.rest.body.notReadable',
    exceptionClass: 'org.eclipse.hawkbit.rest.exception.MessageNotReadableException',
  },
  constraint: {
    errorCode: 'hawkbit.server.error.repo.constraintViolation',
    exceptionClass: 'jakarta.validation.ConstraintViolationException',
  },
  invalidTargetAttributes: {
    errorCode: 'hawkbit.server.error.repo.invalidTargetAttributes',
    exceptionClass: `${REPO}.InvalidTargetAttributeException`,
  },
  autoConfirmActive: {
    errorCode: 'hawkbit.server.error.repo.autoConfAlreadyActive',
    exceptionClass: `${REPO}.AutoConfirmationAlreadyActiveException`,
  },
  notCancelable: {
    errorCode: 'hawkbit.server.error.action.notCancelable',
    exceptionClass: `${REPO}.CancelActionNotAllowedException`,
  },
  notDeletable: {
    errorCode: 'hawkbit.server.error.action.notDeletable',
    exceptionClass: `${REPO}.DeleteActionNotAllowedException`,
  },
  notForceQuitable: {
    errorCode: 'hawkbit.server.error.action.notForceQuitable',
    exceptionClass: `${REPO}.ForceQuitActionNotAllowedException`,
  },
  incomplete: {
    errorCode: 'hawkbit.server.error.distributionset.incomplete',
    exceptionClass: `${REPO}.IncompleteDistributionSetException`,
  },
  unsupportedModule: {
    errorCode: 'hawkbit.server.error.distributionset.modules.unsupported',
    exceptionClass: `${REPO}.UnsupportedSoftwareModuleForThisDistributionSetException`,
  },
  maintenance: {
    errorCode: 'hawkbit.server.error.maintenanceScheduleInvalid',
    exceptionClass: `${REPO}.InvalidMaintenanceScheduleException`,
  },
  multiAssignment: {
    errorCode: 'hawkbit.server.error.multiAssignmentNotEnabled',
    exceptionClass: `${REPO}.MultiAssignmentIsNotEnabledException`,
  },
  uploadFailed: {
    errorCode: 'hawkbit.server.error.artifact.uploadFailed',
    exceptionClass: `${REPO}.ArtifactUploadFailedException`,
  },
  md5Mismatch: {
    errorCode: 'hawkbit.server.error.artifact.uploadFailed.checksum.md5.match',
    exceptionClass: `${REPO}.ArtifactUploadFailedException`,
  },
  sha1Mismatch: {
    errorCode: 'hawkbit.server.error.artifact.uploadFailed.checksum.sha1.match',
    exceptionClass: `${REPO}.ArtifactUploadFailedException`,
  },
  sha256Mismatch: {
    errorCode: 'hawkbit.server.error.artifact.uploadFailed.checksum.sha256.match',
    exceptionClass: `${REPO}.ArtifactUploadFailedException`,
  },
  fileSize: {
    errorCode: 'hawkbit.server.error.quota.fileSizeExceeded',
    exceptionClass: `${REPO}.FileSizeQuotaExceededException`,
  },
  /** A quota (attributes per target, status entries per action, registrations per client). */
  quota: {
    errorCode: 'hawkbit.server.error.quota.tooManyEntries',
    exceptionClass: `${REPO}.AssignmentQuotaExceededException`,
  },
  concurrent: {
    errorCode: 'hawkbit.server.error.repo.concurrentModification',
    exceptionClass: `${REPO}.ConcurrentModificationException`,
  },
  rsqlSyntax: {
    errorCode: 'hawkbit.server.error.rest.param.rsqlParamSyntax',
    exceptionClass: 'org.eclipse.hawkbit.rest.exception.SortParameterSyntaxErrorException',
  },
  rsqlInvalidField: {
    errorCode: 'hawkbit.server.error.rest.param.rsqlInvalidField',
    exceptionClass: 'org.eclipse.hawkbit.rest.exception.SortParameterSyntaxErrorException',
  },
  sortSyntax: {
    errorCode: 'hawkbit.server.error.rest.param.sortParamSyntax',
    exceptionClass: 'org.eclipse.hawkbit.rest.exception.SortParameterSyntaxErrorException',
  },
  invalidField: {
    errorCode: 'hawkbit.server.error.rest.param.invalidField',
    exceptionClass: 'org.eclipse.hawkbit.rest.exception.SortParameterSyntaxErrorException',
  },
  invalidDirection: {
    errorCode: 'hawkbit.server.error.rest.param.invalidDirection',
    exceptionClass: 'org.eclipse.hawkbit.rest.exception.SortParameterSyntaxErrorException',
  },
  insufficientPermission: {
    errorCode: 'hawkbit.server.error.insufficientPermission',
    exceptionClass: `${REPO}.InsufficientPermissionException`,
  },
  configKeyInvalid: {
    errorCode: 'hawkbit.server.error.configKeyInvalid',
    exceptionClass: `${REPO}.InvalidTenantConfigurationKeyException`,
  },
  configValueInvalid: {
    errorCode: 'hawkbit.server.error.configValueInvalid',
    exceptionClass: `${REPO}.TenantConfigurationValidatorException`,
  },
  unknown: {
    errorCode: 'hawkbit.server.error.unknown',
    exceptionClass: 'java.lang.RuntimeException',
  },
} as const satisfies Record<string, { errorCode: string; exceptionClass: string }>;

export type HawkbitErrorKind = keyof typeof HAWKBIT_ERRORS;

/** hawkBit's ExceptionInfo body. */
export interface HawkbitErrorBody {
  exceptionClass: string;
  errorCode: string;
  message: string;
  info?: Record<string, unknown>;
}

export function hawkbitErrorBody(
  kind: HawkbitErrorKind,
  message: string,
  info?: Record<string, unknown>,
): HawkbitErrorBody {
  const { exceptionClass, errorCode } = HAWKBIT_ERRORS[kind];
  return info
    ? { exceptionClass, errorCode, message, info }
    : { exceptionClass, errorCode, message };
}

export function sendHawkbitError(
  res: ServerResponse,
  status: number,
  kind: HawkbitErrorKind,
  message: string,
  info?: Record<string, unknown>,
): void {
  sendJson(res, status, hawkbitErrorBody(kind, message, info));
}
