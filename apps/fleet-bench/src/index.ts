export { rawAmqpThroughput, rawMqttThroughput } from './baselines.js';
export { FleetBenchError, type FleetBenchErrorCode } from './FleetBenchError.js';
export {
  BACKEND_MAIN,
  brokerReachable,
  type FleetOptions,
  type FleetResult,
  type FleetStore,
  runFleet,
  storeArgs,
} from './harness.js';
export { LatencyRecorder, LatencySummary } from './latency.js';
export { ManagementClient } from './managementClient.js';
export { type ProcStats, readProcStats } from './procStats.js';
export { type ProfileEntry, summariseCpuProfile } from './profile.js';
export { type SieCheck, type SieTally, startSieCounter } from './sieCounter.js';
export {
  type BackendFigures,
  runTwoBackendFleet,
  type TwoBackendOptions,
  type TwoBackendResult,
} from './twoBackends.js';
