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
  | 'INVALID_OPTIONS';

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
