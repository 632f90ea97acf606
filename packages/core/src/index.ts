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
export { type CoreErrorCode, OtaflowError } from './OtaflowError.js';
export { ActionEvent, type ActionEventType } from './actionEvents.js';
export { type ActionContext, type ActionInput, type ActionMachine, actionMachine } from './actionMachine.js';
export {
  type TargetContext,
  type TargetEvent,
  type TargetInput,
  type TargetMachine,
  type TargetSnapshot,
  targetMachine,
} from './targetMachine.js';
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
export { applyTargetEvent, createTargetSnapshot, targetStatusOf } from './targets.js';
export { PersistedSnapshot, persistAction, persistTarget, restoreAction, restoreTarget } from './persistence.js';
export {
  type AssignmentPlan,
  type InSyncInput,
  type NextAction,
  compareActionPriority,
  confirmationStateOf,
  deriveTargetStatus,
  isForcedNow,
  isInSync,
  planAssignment,
  selectNextAction,
} from './rules.js';
export { type EventTemplate, type MappingResult, type ReportFields } from './mappingResult.js';
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
  SUV2_STATUS_MAP,
  SUV2_STATUSES,
  type Suv2MappingOptions,
  type Suv2Status,
  isSuv2Status,
  mapSoftwareUpdatableStatus,
} from './softwareUpdatableMapping.js';
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
export { Artifact, ArtifactHashes, DistributionSet, MetadataEntry, SoftwareModule } from './catalogue.js';
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
export { ActionRecord, AutoConfirm, TargetChannel, TargetRecord } from './records.js';
export { type Page, type PageQuery, type Sequence, type UpdateStore } from './UpdateStore.js';
export { MemoryUpdateStore } from './MemoryUpdateStore.js';
export { KeyedLock } from './KeyedLock.js';
export {
  type TargetView,
  actionHistoryOfRecord,
  actionStatusOfRecord,
  actionViewOfRecord,
  targetViewOfRecord,
} from './views.js';
export {
  type ApplyResult,
  type AssignTargetInput,
  type AssignmentResult,
  type AttributeUpdateMode,
  type CreateDistributionSetInput,
  type CreateSoftwareModuleInput,
  type CreateTargetInput,
  type DomainEventListener,
  type MachineTransition,
  type TargetPatch,
  UpdateService,
  type UpdateServiceOptions,
} from './UpdateService.js';
