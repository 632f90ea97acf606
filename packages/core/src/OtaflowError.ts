/** Every failure the core reports carries one of these codes, so callers can switch on it. */
export type CoreErrorCode =
  | 'TARGET_NOT_FOUND'
  | 'TARGET_EXISTS'
  | 'ACTION_NOT_FOUND'
  | 'DISTRIBUTION_SET_NOT_FOUND'
  | 'SOFTWARE_MODULE_NOT_FOUND'
  | 'INVALID_INPUT'
  | 'INVALID_SNAPSHOT'
  /** One of hawkBit's quotas (rules.ts) would be passed; nothing was written. */
  | 'QUOTA_EXCEEDED'
  | 'ACTION_NOT_DELETABLE'
  | 'LOCKED'
  | 'DELETED'
  | 'INVALID_DISTRIBUTION_SET'
  /** An outbox was asked of a store that keeps none. */
  | 'OUTBOX_UNSUPPORTED'
  | 'CONFLICT';

export class OtaflowError extends Error {
  override readonly name = 'OtaflowError';
  constructor(
    readonly code: CoreErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
