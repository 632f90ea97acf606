export type { ArtifactInfo, ArtifactSource, ByteRange } from './ArtifactSource.js';
export {
  answerFailure,
  createDdiServer,
  type DdiServer,
  type DdiServerOptions,
  ddiServerContext,
} from './createDdiServer.js';
export {
  DdiClient,
  type DdiClientOptions,
  type DdiConfirmDecision,
  type DdiDownloadedArtifact,
  type DdiInstaller,
  type DdiInstallJob,
  type DdiInstallResult,
  type DdiPollOutcome,
  type DdiProgressEvent,
  type FeedbackRetry,
} from './DdiClient.js';
export { DdiError, type DdiErrorCode } from './DdiError.js';
export { FileArtifactSource, isSafeArtifactName } from './FileArtifactSource.js';
export { etagMatches } from './http/etagMatches.js';
export {
  HAWKBIT_ERRORS,
  type HawkbitErrorBody,
  type HawkbitErrorKind,
  hawkbitErrorBody,
  sendHawkbitError,
} from './http/hawkbitErrors.js';
export { isJsonContentType } from './http/isJsonContentType.js';
export { negotiate } from './http/negotiate.js';
export { readBody } from './http/readBody.js';
export { requestBase } from './http/requestBase.js';
export { type SendJsonOptions, sendEmpty, sendJson } from './http/sendJson.js';
export {
  MULTIPART_BOUNDARY,
  parseRange,
  type RangeParse,
  type ServedArtifact,
  serveArtifact,
} from './http/serveArtifact.js';
export { springError } from './http/springError.js';
export { isMaintenanceWindowOpen } from './maintenanceWindow.js';
export { formatPollingSleep, parsePollingSleep } from './pollingSleep.js';
export * from './schemas.js';
export { DDI_TYPES, sendRefusal, sendResource } from './server/answers.js';
export { authenticate } from './server/authenticate.js';
export {
  type DdiAuthOptions,
  DdiRequest,
  type DdiServerContext,
  type DdiVia,
} from './server/DdiRequest.js';
export { createDdiRouter, type DdiParams, type DdiRoute, idOf } from './server/ddiRouter.js';
export { getArtifact, getArtifacts } from './server/endpoints/artifacts.js';
export { getCancelAction, postCancelFeedback } from './server/endpoints/cancelAction.js';
export {
  activateAutoConfirm,
  deactivateAutoConfirm,
  getConfirmationAction,
  getConfirmationBase,
  postConfirmationFeedback,
} from './server/endpoints/confirmationBase.js';
export { getDeploymentBase, postDeploymentFeedback } from './server/endpoints/deploymentBase.js';
export { getRoot } from './server/endpoints/getRoot.js';
export { getInstalledBase, putInstalledBase } from './server/endpoints/installedBase.js';
export { putConfigData } from './server/endpoints/putConfigData.js';
export {
  clientKeyOf,
  type RegistrationLimit,
  RegistrationLimiter,
} from './server/RegistrationLimiter.js';
export { readJson } from './server/readJson.js';
export {
  feedbackRefusal,
  notFound,
  notOwned,
  notReadable,
  quotaExceeded,
  refused,
  tooManyRegistrations,
} from './server/refusals.js';
export {
  artifactJson,
  cancelJson,
  changeMarker,
  deploymentJson,
  handlingOf,
  installedActionOf,
} from './server/representations.js';
