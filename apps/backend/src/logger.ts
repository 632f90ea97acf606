import { createLogger as createCliLogger } from '@otaflow/cli';
import type { Logger } from '@otaflow/core';
import { z } from 'zod';

export type { Logger } from '@otaflow/core';

/** The levels of `--log-level`; `silent` says nothing, which tests and embedders use. */
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

/** @otaflow/cli's pino logger with `app: "backend"`: one JSON object per line. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return createCliLogger('backend', {
    level: options.level ?? 'info',
    ...(options.write ? { write: options.write } : {}),
    ...(options.fields ? { fields: options.fields } : {}),
  });
}
