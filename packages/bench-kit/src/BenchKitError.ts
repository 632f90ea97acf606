export type BenchKitErrorCode =
  | 'BAD_ANSWER'
  | 'CONNECTION_CLOSED'
  | 'UNEXPECTED_STATUS'
  | 'CHILD_FAILED';

/** Every failure of a load drive: a benchmark that meets one must stop, not report a figure. */
export class BenchKitError extends Error {
  override readonly name = 'BenchKitError';

  constructor(
    readonly code: BenchKitErrorCode,
    message: string,
  ) {
    super(message);
  }
}
