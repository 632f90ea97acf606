import {
  type OperationStaResult,
  platformTime,
  type SubOperationInfo,
  type SubTaskStatus,
  type UpgradeTask,
} from '../upgradeTasks.js';
import type { SubTask, Task } from './PlatformState.js';

export function operateType(task: Task): 'software_upgrade' | 'firmware_upgrade' {
  return task.type === 'software' ? 'software_upgrade' : 'firmware_upgrade';
}

const time = (ms: number | undefined) => (ms === undefined ? null : platformTime(ms));

/** A task as `QueryUpgradeTaskOutDTO`. */
export function taskView(task: Task): UpgradeTask {
  const count = (status: SubTaskStatus) => task.subs.filter((s) => s.status === status).length;
  const staResult: OperationStaResult = {
    total: task.subs.length,
    wait: count('wait'),
    processing: count('processing'),
    success: count('success'),
    fail: count('fail'),
    stop: count('stop'),
    timeout: count('timeout'),
  };
  return {
    operationId: task.operationId,
    createTime: time(task.createTime),
    startTime: time(task.startTime),
    stopTime: time(task.stopTime),
    operateType: operateType(task),
    targets: task.request.targets,
    policy: task.request.policy ?? null,
    status: task.status,
    staResult,
    extendPara: { fileId: task.fileId },
  };
}

/** A sub-task as `SubOperationInfo`. */
export function subTaskView(task: Task, sub: SubTask): SubOperationInfo {
  return {
    subOperationId: sub.subOperationId,
    createTime: time(sub.createTime),
    startTime: time(sub.startTime),
    stopTime: time(sub.stopTime),
    operateType: operateType(task),
    deviceId: sub.deviceId,
    status: sub.status,
    detailInfo: sub.detailInfo,
    extendInfo: null,
  };
}

/** One page as the platform pages: `pageNo` from 0, `pageSize` 1..100 (default 25). */
export function pageOf<T>(items: T[], query: URLSearchParams) {
  const pageNo = Math.max(0, Number(query.get('pageNo') ?? 0) || 0);
  const pageSize = Math.min(100, Math.max(1, Number(query.get('pageSize') ?? 25) || 25));
  return {
    pageNo,
    pageSize,
    totalCount: items.length,
    data: items.slice(pageNo * pageSize, (pageNo + 1) * pageSize),
  };
}
