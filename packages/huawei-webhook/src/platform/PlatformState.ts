import type { HuaweiNotifyType } from '../notifications.js';
import type {
  CreateUpgradeTaskRequest,
  SubTaskStatus,
  TaskStatus,
  UpgradeType,
} from '../upgradeTasks.js';

/** One device's part of an upgrade task, as the platform keeps it. */
export interface SubTask {
  subOperationId: string;
  deviceId: string;
  status: SubTaskStatus;
  createTime: number;
  startTime?: number;
  stopTime?: number;
  detailInfo: Record<string, unknown>;
}

/** One batch upgrade task, as the platform keeps it (times in ms). */
export interface Task {
  operationId: string;
  type: UpgradeType;
  fileId: string;
  targetVersion: string;
  request: CreateUpgradeTaskRequest;
  status: TaskStatus;
  createTime: number;
  startTime?: number;
  stopTime?: number;
  subs: SubTask[];
}

/**
 * What the northbound API reads and changes. A plain object, so that an endpoint can be called
 * in a test with a state built by hand.
 */
export interface PlatformState {
  readonly appId: string;
  readonly secret: string;
  readonly tokenTtlSeconds: number;
  /** Known version packages (`fileId` -> version); undefined accepts every fileId. */
  readonly packages: Readonly<Record<string, { version: string }>> | undefined;
  accessToken: string | undefined;
  refreshToken: string | undefined;
  /** One callback per notifyType for the application. */
  readonly subscriptions: Map<HuaweiNotifyType, string>;
  readonly tasks: Map<string, Task>;
}

export function createPlatformState(
  options: {
    appId?: string;
    secret?: string;
    tokenTtlSeconds?: number;
    packages?: Record<string, { version: string }>;
  } = {},
): PlatformState {
  return {
    appId: options.appId ?? 'otaflow-app',
    secret: options.secret ?? 'otaflow-secret',
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    packages: options.packages,
    accessToken: undefined,
    refreshToken: undefined,
    subscriptions: new Map(),
    tasks: new Map(),
  };
}

/** Whether a task still has a sub-task waiting or running. */
export function isTaskOpen(task: Task): boolean {
  return task.status === 'wait' || task.status === 'processing';
}
