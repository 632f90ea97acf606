// The test kit: what tests and the demo need and production code does not. Imported as
// `@otaflow/huawei-webhook/testing`, so a receiver in production never loads the stand-in.
export {
  type DeviceBehaviour,
  DeviceSimulation,
  type DeviceSimulationOptions,
} from './platform/DeviceSimulation.js';
export {
  createHuaweiPlatform,
  DEFAULT_PLATFORM_BODY_LIMIT,
  HuaweiPlatform,
  type HuaweiPlatformOptions,
} from './platform/HuaweiPlatform.js';
export {
  type DeliveryOptions,
  type DeliveryRecord,
  NotificationDelivery,
  type NotificationDeliveryOptions,
} from './platform/NotificationDelivery.js';
export {
  authorize,
  createUpgradeTask,
  errorAnswer,
  getUpgradeTask,
  handleNorthbound,
  issueTokens,
  listSubOperations,
  listUpgradeTasks,
  login,
  type NorthboundAnswer,
  type NorthboundRequest,
  platformError,
  refreshToken,
  subscribe,
  type TaskCreated,
} from './platform/northboundApi.js';
export {
  createPlatformState,
  isTaskOpen,
  type PlatformState,
  type SubTask,
  type Task,
} from './platform/PlatformState.js';
export {
  resultNotification,
  SW_STATES,
  type SwState,
  stateNotification,
} from './platform/simulatedNotifications.js';
export { operateType, pageOf, subTaskView, taskView } from './platform/taskViews.js';
