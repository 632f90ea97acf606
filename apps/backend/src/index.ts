export {
  type ArtifactCatalogue,
  type ArtifactEntry,
  type ArtifactInfo,
  type ArtifactSource,
  ArtifactStore,
  type ArtifactStoreOptions,
  type StagedArtifact,
} from './ArtifactStore.js';
export { BackendError, type BackendErrorCode } from './BackendError.js';
export type { BlobStore, StagedBlob } from './BlobStore.js';
export {
  BackendConfig,
  type BackendConfigInput,
  helpText,
  type ParsedCommandLine,
  parseCommandLine,
  parseConfig,
} from './config.js';
export { createHttpServer, type HttpLimits } from './createHttpServer.js';
export {
  createDownloadSigner,
  type DownloadSigner,
  type DownloadSignerOptions,
  EXPIRES_PARAM,
  SIGNATURE_PARAM,
  type SignatureCheck,
} from './downloadSigner.js';
export {
  authorizeDownload,
  createDownloads,
  type DownloadAccess,
  type Downloads,
  type DownloadsContext,
  getDownload,
} from './downloads.js';
export {
  createEventStream,
  EVENTS_PATH,
  type EventStream,
  type EventStreamOptions,
} from './events/createEventStream.js';
export { FileBlobStore } from './FileBlobStore.js';
export type { HttpHandler } from './http.js';
export {
  type Inspection,
  type InspectionOptions,
  sessionIdOf,
  startInspection,
} from './inspection.js';
export {
  createLogger,
  type LogFields,
  type Logger,
  type LoggerOptions,
  LogLevel,
} from './logger.js';
export { type BasicAuth, createBasicAuth } from './management/basicAuth.js';
export {
  createManagementApi,
  type ManagementApiOptions,
} from './management/createManagementApi.js';
export type {
  Endpoint,
  EndpointRequest,
  ManagementContext,
  Reply,
  Route,
} from './management/ManagementContext.js';
export { Problem } from './management/Problem.js';
export { MGMT_BASE } from './management/representations.js';
export { MANAGEMENT_ROUTES } from './management/routes.js';
export {
  boundaryOf,
  type MultipartFilePart,
  type MultipartHandlers,
  type MultipartLimits,
  readMultipart,
} from './multipart.js';
export {
  type BackendStore,
  defaultCacheDir,
  defaultDataDir,
  openBackendStore,
  type StoreDescription,
} from './openBackendStore.js';
export {
  compileFilter,
  compileSort,
  type FieldMap,
  type FieldValue,
  type Paging,
  pagingOf,
  QueryError,
  queryList,
} from './query.js';
export {
  type Backend,
  type BackendOptions,
  HUAWEI_RECEIVER_PATH,
  type IntegrationContext,
  redact,
  startBackend,
} from './server.js';
