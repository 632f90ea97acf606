export { BenchKitError, type BenchKitErrorCode } from './BenchKitError.js';
export { encodeRequest } from './encodeRequest.js';
export { type LoadAnswer, LoadClient } from './LoadClient.js';
