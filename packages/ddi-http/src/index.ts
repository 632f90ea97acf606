export type { ArtifactInfo, ArtifactSource, ByteRange } from './ArtifactSource.js';
export {
  createDdiServer,
  type DdiAuthOptions,
  type DdiServer,
  type DdiServerLogger,
  type DdiServerOptions,
} from './createDdiServer.js';
export {
  DdiClient,
  type DdiClientLogger,
  type DdiClientOptions,
  type DdiConfirmDecision,
  type DdiDownloadedArtifact,
  type DdiInstaller,
  type DdiInstallJob,
  type DdiInstallResult,
  type DdiPollOutcome,
  type DdiProgressEvent,
} from './DdiClient.js';
export { DdiError, type DdiErrorCode } from './DdiError.js';
export { FileArtifactSource, isSafeArtifactName } from './FileArtifactSource.js';
export { isMaintenanceWindowOpen } from './maintenanceWindow.js';
export { formatPollingSleep, parsePollingSleep } from './pollingSleep.js';
export * from './schemas.js';
export {
  MULTIPART_BOUNDARY,
  parseRange,
  type RangeParse,
  type ServedArtifact,
  serveArtifact,
} from './serveArtifact.js';
export {
  buildSignedSwu,
  hasSwupdate,
  newcArchive,
  type SuricattaOptions,
  type SuricattaProcess,
  SWUPDATE_BINARY,
  startSuricatta,
} from './swupdateKit.js';
