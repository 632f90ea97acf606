export { BenchKitError, type BenchKitErrorCode } from './BenchKitError.js';
export {
  type BenchChild,
  forkBenchChild,
  interleaveRounds,
  median,
  serveBenchChild,
} from './benchChild.js';
export type { LoadAnswer } from './Connection.js';
export { encodeRequest } from './encodeRequest.js';
export { LoadClient } from './LoadClient.js';
export { OpenLoadClient, type OpenLoadResult, percentile } from './OpenLoadClient.js';
