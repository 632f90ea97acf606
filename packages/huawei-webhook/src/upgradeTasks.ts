import { z } from 'zod';

/** Northbound device-management base path of the batch upgrade task API. */
export const UPGRADE_API_BASE = '/iodm/northbound/v1.5.0';

/** `OperateDevices`: either device ids or device groups, never both. */
export const OperateDevices = z.object({
  deviceGroups: z.array(z.string().min(1).max(256)).max(256).optional(),
  deviceType: z.string().max(256).optional(),
  model: z.string().max(256).optional(),
  manufacturerName: z.string().max(256).optional(),
  devices: z.array(z.string().min(1).max(256)).optional(),
});
export type OperateDevices = z.infer<typeof OperateDevices>;

/** `OperatePolicy`. `executeType` wire values are the documented console choices. */
export const OperatePolicy = z.object({
  executeType: z.enum(['now', 'device_online', 'custom']).optional(),
  startTime: z.string().optional(),
  endTime: z.string().optional(),
  retryType: z.boolean().optional(),
  retryTimes: z.number().int().optional(),
});
export type OperatePolicy = z.infer<typeof OperatePolicy>;

/** `CreateUpgradeTaskInDTO`, the same body for software and firmware tasks. */
export const CreateUpgradeTaskRequest = z.object({
  fileId: z.string().min(1).max(256),
  targets: OperateDevices,
  policy: OperatePolicy.optional(),
});
export type CreateUpgradeTaskRequest = z.infer<typeof CreateUpgradeTaskRequest>;

export const CreateUpgradeTaskResponse = z.looseObject({ operationId: z.string().min(1) });
export type CreateUpgradeTaskResponse = z.infer<typeof CreateUpgradeTaskResponse>;

export const UpgradeType = z.enum(['software', 'firmware']);
export type UpgradeType = z.infer<typeof UpgradeType>;

/** Task level status; note `failed` here against `fail` in the counters. */
export const TaskStatus = z.enum(['wait', 'processing', 'failed', 'success', 'stop']);
export type TaskStatus = z.infer<typeof TaskStatus>;
export const SubTaskStatus = z.enum(['wait', 'processing', 'fail', 'success', 'timeout', 'stop']);
export type SubTaskStatus = z.infer<typeof SubTaskStatus>;

export const OperationStaResult = z.object({
  total: z.number().int(),
  wait: z.number().int(),
  processing: z.number().int(),
  success: z.number().int(),
  fail: z.number().int(),
  stop: z.number().int(),
  timeout: z.number().int(),
});
export type OperationStaResult = z.infer<typeof OperationStaResult>;

/** `QueryUpgradeTaskOutDTO`; times are UTC `yyyyMMdd'T'HHmmss'Z'`. */
export const UpgradeTask = z.looseObject({
  operationId: z.string(),
  createTime: z.string().nullable(),
  startTime: z.string().nullable(),
  stopTime: z.string().nullable(),
  operateType: z.enum(['software_upgrade', 'firmware_upgrade']),
  targets: OperateDevices,
  policy: OperatePolicy.nullable(),
  status: TaskStatus,
  staResult: OperationStaResult,
  extendPara: z.record(z.string(), z.unknown()).nullable(),
});
export type UpgradeTask = z.infer<typeof UpgradeTask>;

/** `SubOperationInfo`: one per device of a task; its id is the pushes' `subOperationId`. */
export const SubOperationInfo = z.looseObject({
  subOperationId: z.string(),
  createTime: z.string().nullable(),
  startTime: z.string().nullable(),
  stopTime: z.string().nullable(),
  operateType: z.enum(['software_upgrade', 'firmware_upgrade']),
  deviceId: z.string(),
  status: SubTaskStatus,
  detailInfo: z.record(z.string(), z.unknown()).nullable(),
  extendInfo: z.record(z.string(), z.unknown()).nullable(),
});
export type SubOperationInfo = z.infer<typeof SubOperationInfo>;

/** `QueryUpgradeSubTaskOutDTO`. */
export const SubOperationPage = z.looseObject({
  pageNo: z.number().int(),
  pageSize: z.number().int(),
  totalCount: z.number().int(),
  data: z.array(SubOperationInfo),
});
export type SubOperationPage = z.infer<typeof SubOperationPage>;

/** The platform's error body (`error_code` is a numeric string such as `123022`). */
export const PlatformErrorBody = z.looseObject({
  error_code: z.string(),
  error_desc: z.string().optional(),
});
export type PlatformErrorBody = z.infer<typeof PlatformErrorBody>;

/** Login answer of `POST /iocm/app/sec/v1.1.0/login`. */
export const LoginResponse = z.looseObject({
  scope: z.string().optional(),
  tokenType: z.string().optional(),
  expiresIn: z.number().optional(),
  accessToken: z.string().min(1),
  refreshToken: z.string().optional(),
});
export type LoginResponse = z.infer<typeof LoginResponse>;

/** `20151212T121212Z`, the platform's UTC time format. */
export function platformTime(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}
