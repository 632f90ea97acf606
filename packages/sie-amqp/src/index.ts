export { type DedupeKey, Deduplicator } from './Deduplicator.js';
export { type EncodedSieMessage, encodeSieMessage } from './encodeSieMessage.js';
export {
  ActionEventBody,
  SIE_BODY_SCHEMAS,
  SIE_CONTENT_TYPE,
  SIE_MAX_TARGETS_PER_MESSAGE,
  SIE_TOPIC_TYPES,
  SIE_TOPICS,
  SieArtifact,
  SieArtifactUrls,
  SieAssignedTarget,
  type SieBodies,
  SieEventType,
  SieHeaders,
  type SieMessage,
  SieSoftwareModule,
  SieTopic,
  TargetEventBody,
  UpdateAssignmentBody,
} from './messages.js';
export { outboxMessageId } from './outboxMessageId.js';
export type { ReconnectOptions } from './Reconnector.js';
export {
  createSieConsumer,
  SieConsumer,
  type SieConsumerOptions,
  type SieConsumerStats,
  type SieDeadLetterTarget,
  type SieHandler,
  type SieHandlerContext,
  type SieHandlers,
} from './SieConsumer.js';
export { SieError, type SieErrorCode } from './SieError.js';
export {
  createSiePublisher,
  SiePublisher,
  type SiePublisherOptions,
  type SiePublisherStatus,
} from './SiePublisher.js';
export {
  declareSieTopology,
  SIE_EXCHANGE,
  SIE_QUEUE,
  SIE_QUEUE_ARGUMENTS,
  type SieTopologyOptions,
} from './topology.js';
export { type SieArtifactRef, type ToSieMessagesOptions, toSieMessages } from './toSieMessages.js';
