/** Re-exported for apps that already import from here: the type every otaflow package accepts. */
export type { Logger } from '@otaflow/core';
export { CliError, type CliErrorCode } from './CliError.js';
export {
  createLogger,
  isLogLevel,
  type LoggerOptions,
  type LogLevel,
  logLevelFlag,
} from './createLogger.js';
export {
  type CliSpec,
  type FlagSpec,
  type FlagSpecs,
  type FlagValues,
  helpText,
  type ParseResult,
  parseFlags,
} from './parseFlags.js';
export { progressBar } from './progressBar.js';
export { progressView } from './progressView.js';
export {
  describeFailure,
  type InstallCommandResult,
  runInstallCommand,
} from './runInstallCommand.js';
export { type MainContext, runMain, untilAborted } from './runMain.js';
export {
  type AppExit,
  type AppProcess,
  type SpawnAppOptions,
  spawnApp,
  waitFor,
} from './spawnApp.js';
export { type ReadyApp, type StartReadyAppOptions, startReadyApp } from './startReadyApp.js';
