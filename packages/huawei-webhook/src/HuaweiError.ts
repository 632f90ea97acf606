export type HuaweiErrorCode =
  /** The body is not JSON, not an object, or fails its schema. */
  | 'INVALID_NOTIFICATION'
  | 'INVALID_REQUEST'
  /** A call to the platform's northbound API was refused; `status` and `platformCode` say why. */
  | 'PLATFORM_ERROR'
  /** The platform could not be reached (connection refused, reset, timeout). */
  | 'PLATFORM_UNREACHABLE'
  /** A target or action cannot be dispatched (wrong channel, no device id, already dispatched). */
  | 'DISPATCH_FAILED'
  | 'NOT_STARTED'
  /** A component was configured with something that cannot work (an empty secret). */
  | 'INVALID_OPTIONS';

/** The one error class of @otaflow/huawei-webhook. */
export class HuaweiError extends Error {
  override readonly name = 'HuaweiError';
  constructor(
    readonly code: HuaweiErrorCode,
    message: string,
    readonly details?: { status?: number; platformCode?: string; cause?: unknown },
  ) {
    super(message);
  }
}
