export type SieErrorCode =
  /** The publisher's in-memory buffer is full while the broker is away. */
  | 'BUFFER_FULL'
  /** The broker refused a message (basic.nack), e.g. a queue with `x-overflow=reject-publish`. */
  | 'NACKED'
  /** The publisher or consumer was closed before the work could finish. */
  | 'CLOSED'
  /** `close()` could not get every buffered message confirmed in time. */
  | 'FLUSH_FAILED'
  /** `start({ timeoutMs })` saw no ready connection in time (the client keeps retrying). */
  | 'CONNECT_TIMEOUT'
  /** The broker refused the topology (406 inequivalent arguments, 403 no configure permission). */
  | 'TOPOLOGY'
  /** A domain event or SIE message failed validation. */
  | 'INVALID_MESSAGE'
  /** Invalid options. */
  | 'INVALID_OPTIONS';

/** The one error type of @otaflow/sie-amqp; branch on `code`. */
export class SieError extends Error {
  readonly code: SieErrorCode;

  constructor(code: SieErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SieError';
    this.code = code;
  }
}
