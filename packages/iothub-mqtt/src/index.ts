export {
  AgentState,
  type AgentStateStore,
  FileAgentStateStore,
  MemoryAgentStateStore,
} from './agentState.js';
export {
  artifactUrl,
  type DownloadedArtifact,
  type DownloadOptions,
  downloadArtifact,
} from './artifactDownload.js';
export {
  type AuthorizedSubscription,
  authorizePublish,
  authorizeSubscribe,
  type BrokerIdentity,
  deliveredTopic,
  isTopicSegment,
  parseHonoUsername,
  type SubscribedForm,
  sameSecret,
} from './brokerAcl.js';
export { CommandDelivery, type CommandRetryOptions } from './CommandDelivery.js';
export {
  Commander,
  type CommanderOptions,
  createCommander,
  defaultThingIdOf,
} from './Commander.js';
export { CommandRequests, type CommandResult } from './CommandRequests.js';
export {
  commanderFilters,
  commanderReportFilters,
  commanderResponseFilters,
  connectCommander,
  isShareGroup,
  refusesMqtt5,
} from './commanderConnection.js';
export { cancelValue, installValue, moduleAction } from './commandValues.js';
export {
  ACKNOWLEDGED_REF,
  acknowledgedByReport,
  CORRELATION_REF,
  type PendingCommand,
  pendingCommand,
} from './correlation.js';
export { DeferredPubacks, type PubackSlot } from './DeferredPubacks.js';
export { createDeviceAgent, DeviceAgent, type DeviceAgentOptions } from './DeviceAgent.js';
export {
  correlationIdHeader,
  DITTO_CONTENT_TYPE,
  DittoEnvelope,
  DittoError,
  DittoHeaders,
  type DittoTopic,
  dittoTopic,
  errorResponse,
  featureMessagePath,
  header,
  type LiveMessageInput,
  liveMessage,
  messageResponse,
  parseDittoEnvelope,
  parseDittoTopic,
  responseRequired,
  splitThingId,
  type TwinCommandInput,
  thingIdOfTopic,
  twinMerge,
  twinModify,
} from './dittoEnvelope.js';
export {
  commandRequestTopic,
  commandResponseTopic,
  commandSubscription,
  eventTopic,
  type HonoAddress,
  type ParsedHonoTopic,
  type PropertyBag,
  parseHonoTopic,
  telemetryTopic,
} from './honoTopics.js';
export type { InstallContext, Installer, InstallResult } from './Installer.js';
export { IotHubError, type IotHubErrorCode } from './IotHubError.js';
export {
  FEATURE_ID_ATTRIBUTE,
  MODULE_TYPE_ATTRIBUTE,
  ReportIngest,
  type ReportOutcome,
  type ReportResult,
} from './ReportIngest.js';
export { ReportQueue } from './ReportQueue.js';
export {
  DEFAULT_FEATURE_ID,
  DependencyDescription,
  DownloadProtocol,
  dependencyKey,
  featurePath,
  HashAlgorithm,
  isFailedStatus,
  isFinalStatus,
  Links,
  numericStatusCode,
  OperationStatus,
  SoftwareArtifactAction,
  SoftwareModuleAction,
  SoftwareModuleId,
  SoftwareRemoveAction,
  SoftwareUpdatableFeature,
  SoftwareUpdatableStatus,
  SoftwareUpdateAction,
  SUV2_DEFINITION,
  SUV2_OPERATIONS,
  Suv2Operation,
  Suv2StatusSchema,
  softwareUpdatableFeature,
  statusPropertyPath,
} from './softwareUpdatable.js';
