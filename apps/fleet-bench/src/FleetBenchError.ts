export type FleetBenchErrorCode =
  | 'BROKER_MISSING'
  | 'CHILD_FAILED'
  | 'MANAGEMENT_API'
  | 'TIMEOUT'
  | 'BAD_OPTION';

/** The one error class of the fleet benchmark, with a string code. */
export class FleetBenchError extends Error {
  readonly code: FleetBenchErrorCode;
  constructor(code: FleetBenchErrorCode, message: string) {
    super(message);
    this.name = 'FleetBenchError';
    this.code = code;
  }
}
