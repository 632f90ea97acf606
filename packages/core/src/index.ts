export { ActionEvent, type ActionEventType } from './actionEvents.js';
export {
  type ActionContext,
  type ActionInput,
  type ActionMachine,
  actionMachine,
} from './actionMachine.js';
export {
  type ActionRefusalReason,
  type ActionSnapshot,
  type ActionTransitionResult,
  type ActionView,
  actionHistory,
  actionView,
  applyActionEvent,
  createActionSnapshot,
  isActionActive,
  isActionClosed,
  stateKeyOf,
} from './actions.js';
export { CachingUpdateStore, type CachingUpdateStoreOptions } from './CachingUpdateStore.js';
export {
  Artifact,
  ArtifactHashes,
  DistributionSet,
  MetadataEntry,
  SoftwareModule,
} from './catalogue.js';
export {
  DEFAULT_DISTRIBUTION_SET_TYPES,
  DEFAULT_SOFTWARE_MODULE_TYPES,
  DISTRIBUTION_SET_TYPES,
  DistributionSetTypeRecord,
  SOFTWARE_MODULE_TYPES,
  SoftwareModuleTypeRecord,
  TARGET_TYPES,
  TargetTypeRecord,
} from './catalogueTypes.js';
export {
  type Collection,
  type CollectionField,
  type CollectionRecord,
  type CollectionStore,
  collectionFieldPath,
  collectionListFields,
  defineCollection,
  readPath,
} from './collections.js';
export {
  DDI_CANCEL_FEEDBACK,
  DDI_CONFIRMATION_FEEDBACK,
  DDI_DEPLOYMENT_FEEDBACK,
  DDI_EXECUTIONS,
  type DdiConfirmation,
  type DdiExecution,
  type DdiFeedbackEndpoint,
  type DdiFeedbackReport,
  type DdiFinished,
  mapDdiConfirmation,
  mapDdiFeedback,
} from './ddiMapping.js';
export {
  ActionDomainEvent,
  AssignedModule,
  AssignedTarget,
  DOMAIN_EVENT_TYPES,
  DomainEvent,
  type DomainEventType,
  TargetDomainEvent,
  UpdateAssignmentEvent,
} from './domainEvents.js';
export {
  FilterComparison,
  FilterLogic,
  FilterNode,
  FilterOperator,
  filterDepth,
  ListQuery,
  MULTI_VALUE_OPERATORS,
  SortKey,
} from './filter.js';
export {
  compareFilterValue,
  compileFilter,
  type FieldAccessor,
  type FieldValues,
  type FilterValue,
  matchesFilter,
} from './filterMatch.js';
export { applyListQuery, compileSortOrder } from './filterSort.js';
export { foldCase, matchWildcard, matchWildcardIgnoringCase } from './filterWildcard.js';
export {
  HUAWEI_RESULT_MAP,
  HUAWEI_STATE_MAP,
  HUAWEI_UPGRADE_RESULTS,
  HUAWEI_UPGRADE_STATES,
  type HuaweiUpgradeResult,
  type HuaweiUpgradeState,
  mapHuaweiUpgradeResult,
  mapHuaweiUpgradeState,
} from './huaweiMapping.js';
export { KeyedLock } from './KeyedLock.js';
export { type LogFn, type Logger, silentLogger } from './Logger.js';
export {
  ACTION_LIST_FIELDS,
  checkListQuery,
  DISTRIBUTION_SET_LIST_FIELDS,
  ipAddressOf,
  type ListField,
  type ListFields,
  ListFieldType,
  type ListRequest,
  listFieldAccessor,
  listQueryOf,
  namesRelatedField,
  resolveListField,
  SOFTWARE_MODULE_LIST_FIELDS,
  TARGET_LIST_FIELDS,
  type TargetRelations,
} from './listFields.js';
export { MemoryUpdateStore, type MemoryUpdateStoreOptions } from './MemoryUpdateStore.js';
export type { EventTemplate, MappingResult, ReportFields } from './mappingResult.js';
export {
  MAX_METADATA_PER_ENTITY,
  METADATA,
  MetadataRecord,
  metadataScope,
} from './metadata.js';
export { type CoreErrorCode, OtaflowError } from './OtaflowError.js';
export {
  OutboxRelay,
  type OutboxRelayOptions,
  type OutboxRelayStats,
  type OutboxSink,
} from './OutboxRelay.js';
export {
  type OutboxAppend,
  type OutboxChannelStats,
  type OutboxClaim,
  type OutboxEntry,
  type OutboxStore,
  outboxOf,
} from './outbox.js';
export {
  PersistedSnapshot,
  persistAction,
  persistTarget,
  restoreAction,
  restoreTarget,
} from './persistence.js';
export {
  ActionRecord,
  AutoConfirm,
  INSTALLED_REPORT_REF,
  MAX_APPLIED_KEYS,
  TargetChannel,
  TargetGroup,
  TargetRecord,
} from './records.js';
export {
  errorConditionMet,
  type GroupCounts,
  type GroupProgress,
  planRolloutRound,
  RolloutErrorAction,
  RolloutErrorCondition,
  RolloutGroupConditions,
  type RolloutRound,
  RolloutSuccessAction,
  RolloutSuccessCondition,
  successConditionMet,
} from './rolloutConditions.js';
export {
  amountGroupPercentages,
  type GroupDefinition,
  groupSize,
  MAX_ROLLOUT_GROUPS,
  splitTargets,
} from './rolloutGroups.js';
export {
  type RolloutEvent,
  type RolloutGroupEvent,
  RolloutGroupStatus,
  RolloutStatus,
  rolloutGroupMachine,
  rolloutGroupStatusAfter,
  rolloutMachine,
  rolloutStatusAfter,
} from './rolloutMachine.js';
export {
  MAX_TARGETS_PER_ROLLOUT_GROUP,
  ROLLOUT_GROUPS,
  ROLLOUTS,
  RolloutGroupRecord,
  RolloutRecord,
  rolloutScope,
  TARGET_FILTERS,
  TargetFilterRecord,
} from './rolloutRecords.js';
export {
  type AssignmentPlan,
  compareActionPriority,
  confirmationStateOf,
  deriveTargetStatus,
  type InSyncInput,
  isForcedNow,
  isInSync,
  MAX_ARTIFACTS_PER_SOFTWARE_MODULE,
  MAX_ATTRIBUTES_PER_TARGET,
  MAX_SOFTWARE_MODULES_PER_DISTRIBUTION_SET,
  MAX_TARGETS_PER_MANUAL_ASSIGNMENT,
  type NextAction,
  planAssignment,
  selectNextAction,
} from './rules.js';
export {
  isSuv2Status,
  mapSoftwareUpdatableStatus,
  SUV2_STATUS_MAP,
  SUV2_STATUSES,
  type Suv2MappingOptions,
  type Suv2Status,
} from './softwareUpdatableMapping.js';
export {
  DISTRIBUTION_SET_TAGS,
  TAG_ASSIGNMENTS,
  TARGET_TAGS,
  TagAssignment,
  TagRecord,
  tagScope,
} from './tags.js';
export {
  type TargetContext,
  type TargetEvent,
  type TargetInput,
  type TargetMachine,
  type TargetSnapshot,
  targetMachine,
} from './targetMachine.js';
export { loadTargetRelations } from './targetRelations.js';
export { applyTargetEvent, createTargetSnapshot, targetStatusOf } from './targets.js';
export {
  type ActionRefMatch,
  type ApplyOptions,
  type ApplyResult,
  type AssignmentResult,
  type AssignTargetInput,
  type AttributeUpdateMode,
  type CreateDistributionSetInput,
  type CreateSoftwareModuleInput,
  type CreateTargetInput,
  DELETABLE_STATUSES,
  type DomainEventListener,
  type MachineTransition,
  type TargetPatch,
  UpdateService,
  type UpdateServiceOptions,
} from './UpdateService.js';
export {
  getTargetsOf,
  nextIdsOf,
  type Page,
  type PageQuery,
  putNewActionsOf,
  putNewTargetsOf,
  type Sequence,
  TARGET_GROUP_BATCH,
  type TargetContact,
  type TargetSelection,
  type UpdateStore,
} from './UpdateStore.js';
export {
  actionHistoryOfRecord,
  actionStatusOfRecord,
  actionViewOfRecord,
  type StoredActionView,
  type TargetView,
  targetViewOfRecord,
} from './views.js';
export {
  ActionStatus,
  ActionType,
  ControllerId,
  DEFAULT_MAX_HISTORY,
  DEFAULT_WEIGHT,
  MaintenanceWindow,
  StatusEntry,
  TargetUpdateStatus,
  Timestamp,
  Weight,
} from './vocabulary.js';
