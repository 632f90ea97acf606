/**
 * How a Huawei sub-task is tied to a core action: `service.setActionRef(actionId, key, value)`.
 * Parts are URI-encoded and joined by `/`, so any id may contain any character.
 */
export const HUAWEI_SUB_OPERATION_REF = 'huawei.subOperation';
/** The task-level ref, set first (the create call only returns the operation id). */
export const HUAWEI_OPERATION_REF = 'huawei.operation';

export function subOperationRef(
  deviceId: string,
  operationId: string,
  subOperationId: string,
): string {
  return `${encodeURIComponent(deviceId)}/${encodeURIComponent(operationId)}/${encodeURIComponent(subOperationId)}`;
}

export function operationRef(deviceId: string, operationId: string): string {
  return `${encodeURIComponent(deviceId)}/${encodeURIComponent(operationId)}`;
}
