export { CliError, type CliErrorCode } from './CliError.js';
export {
  type CliSpec,
  type FlagSpec,
  type FlagSpecs,
  type FlagValues,
  type ParseResult,
  helpText,
  parseFlags,
} from './parseFlags.js';
export { type LogLevel, type Logger, type LoggerOptions, createLogger, isLogLevel } from './createLogger.js';
export { type MainContext, runMain, untilAborted } from './runMain.js';
export { progressBar } from './progressBar.js';
