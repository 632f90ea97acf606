export {
  createHuaweiReceiver,
  createHuaweiReceiverServer,
  DEFAULT_BODY_LIMIT,
  DEFAULT_DEDUPE_SIZE,
  DEFAULT_MATCH_WAIT_MS,
  DEFAULT_RECEIVER_PATH,
  type HuaweiReceiver,
  type HuaweiReceiverOptions,
  type HuaweiReceiverServer,
  type HuaweiReceiverServerOptions,
  type ReceiverOutcome,
} from './createHuaweiReceiver.js';
export { HuaweiError, type HuaweiErrorCode } from './HuaweiError.js';
export {
  type DispatchContext,
  type DispatchResult,
  HuaweiUpgradeDispatcher,
  type HuaweiUpgradeDispatcherOptions,
} from './HuaweiUpgradeDispatcher.js';
export {
  type HttpRequestOptions,
  type HttpResponse,
  httpRequest,
  type TlsClientOptions,
} from './httpRequest.js';
export { LOGIN_PATH, REFRESH_TOKEN_PATH, SUBSCRIBE_PATH } from './northboundPaths.js';
export {
  FW_STEPS,
  type FwStep,
  FwUpgradeResultNotify,
  FwUpgradeStateChangeNotify,
  HUAWEI_NOTIFICATION_SCHEMAS,
  HUAWEI_NOTIFY_TYPES,
  HuaweiNotification,
  HuaweiNotifyType,
  notificationKey,
  SwUpgradeResultNotify,
  SwUpgradeStateChangeNotify,
  upgradeResultOf,
  upgradeStateOf,
} from './notifications.js';
export {
  HUAWEI_OPERATION_REF,
  HUAWEI_SUB_OPERATION_REF,
  operationRef,
  subOperationRef,
} from './refs.js';
export { callbackUrlOf, isValidCallbackUrl, SubscribeRequest } from './subscription.js';
export {
  CreateUpgradeTaskRequest,
  CreateUpgradeTaskResponse,
  LoginResponse,
  OperateDevices,
  OperatePolicy,
  OperationStaResult,
  PlatformErrorBody,
  platformTime,
  SubOperationInfo,
  SubOperationPage,
  SubTaskStatus,
  TaskStatus,
  UPGRADE_API_BASE,
  UpgradeTask,
  UpgradeType,
} from './upgradeTasks.js';
