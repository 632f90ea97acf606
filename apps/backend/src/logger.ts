import { createLogger as createCliLogger, type Logger } from '@otaflow/cli';
import { z } from 'zod';

export type { Logger } from '@otaflow/cli';

/** @otaflow/cli's levels plus `silent`, which tests and embedders use to keep stdout clean. */
export const LogLevel = z.enum(['debug', 'info', 'warn', 'error', 'silent']);
export type LogLevel = z.infer<typeof LogLevel>;

export type LogFields = Record<string, unknown>;

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go (one JSON object, no trailing newline); stdout by default. */
  write?: (line: string) => void;
  /** Fields on every line. */
  fields?: LogFields;
}

/**
 * @otaflow/cli's JSON-lines logger with `app: "backend"`; `silent` drops every line, since the
 * shared logger knows no such level.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const silent = options.level === 'silent';
  return createCliLogger('backend', {
    level:
      silent || options.level === undefined
        ? 'info'
        : (options.level as Exclude<LogLevel, 'silent'>),
    ...(silent ? { write: () => {} } : options.write ? { write: options.write } : {}),
    ...(options.fields ? { fields: options.fields } : {}),
  });
}
