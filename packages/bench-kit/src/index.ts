export { BenchKitError, type BenchKitErrorCode } from './BenchKitError.js';
export {
  type BenchChild,
  forkBenchChild,
  interleaveRounds,
  median,
  serveBenchChild,
} from './benchChild.js';
export { encodeRequest } from './encodeRequest.js';
export { type LoadAnswer, LoadClient } from './LoadClient.js';
