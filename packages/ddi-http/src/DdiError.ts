/** Every failure this package reports carries one of these codes, so callers can switch on it. */
export type DdiErrorCode =
  | 'HTTP_STATUS'
  | 'NETWORK'
  | 'INVALID_RESPONSE'
  | 'INVALID_SLEEP'
  | 'INVALID_CRON'
  | 'HASH_MISMATCH'
  | 'DOWNLOAD_FAILED'
  | 'NO_HASH'
  | 'INSTALL_FAILED'
  | 'ABORTED'
  | 'INVALID_ARTIFACT_NAME'
  | 'INVALID_OPTIONS'
  /** A request body grew past its limit; the server answers 413. */
  | 'BODY_TOO_LARGE'
  /** The client went away before its request body ended. */
  | 'BODY_ABORTED'
  /** The DDI server refuses a request with `status`; `details` is hawkBit's body, if any. */
  | 'REFUSED';

export class DdiError extends Error {
  override readonly name = 'DdiError';
  constructor(
    readonly code: DdiErrorCode,
    message: string,
    /** The HTTP status when the server answered, else undefined. */
    readonly status?: number,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
