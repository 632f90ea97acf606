import type { Logger } from '@otaflow/core';
import { type DestinationStream, pino } from 'pino';

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go, one JSON object without its newline; stdout by default. */
  write?: (line: string) => void;
  /** Fields on every line, after `app`. */
  fields?: Record<string, unknown>;
}

function toLines(write: (line: string) => void): DestinationStream {
  return { write: (chunk) => write(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk) };
}

/**
 * A pino logger writing one JSON object per line: `level` as its label, `time` as an ISO string,
 * `app`, the fields, then `msg`. Errors under `err` (and under `error`, which older call sites
 * used) go through pino's standard serializer.
 */
export function createLogger(app: string, options: LoggerOptions = {}): Logger {
  // Synchronous, so that the line an app logs just before it exits is not lost in a buffer.
  const destination = options.write
    ? toLines(options.write)
    : pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level ?? 'info',
      base: { app, ...options.fields },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    destination,
  );
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LEVELS as readonly string[]).includes(value);
}

/** The `--log-level` flag every app takes, with its environment variable. */
export const logLevelFlag = {
  type: 'string',
  env: 'LOG_LEVEL',
  default: 'info',
  placeholder: 'level',
  description: 'debug, info, warn, error or silent',
} as const;
