/** Every failure this package reports carries one of these codes, so callers can switch on it. */
export type IotHubErrorCode =
  | 'INVALID_TOPIC'
  | 'INVALID_ENVELOPE'
  | 'INVALID_PARAMETERS'
  | 'INVALID_OPTIONS'
  | 'NOT_CONNECTED'
  | 'RESPONSE_TIMEOUT'
  | 'COMMAND_FAILED'
  | 'ACTION_NOT_FOUND'
  | 'NO_CORRELATION_ID'
  | 'DOWNLOAD_FAILED'
  | 'HASH_MISMATCH'
  | 'INSTALL_FAILED'
  | 'CANCELED'
  | 'STATE_STORE'
  /** The mqtt.js in use lacks what deferred PUBACKs need (its private `_sendPacket`). */
  | 'UNSUPPORTED_CLIENT';

export class IotHubError extends Error {
  override readonly name = 'IotHubError';
  constructor(
    readonly code: IotHubErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
