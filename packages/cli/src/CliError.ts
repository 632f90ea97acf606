export type CliErrorCode = 'BAD_FLAG' | 'BAD_VALUE' | 'MISSING_VALUE';

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: CliErrorCode,
    message: string,
  ) {
    super(message);
  }
}
