export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stdout by default. */
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    if ('code' in value) out.code = (value as { code: unknown }).code;
    return out;
  }
  return value;
}

/** One JSON object per line: `time`, `level`, `app`, `msg`, then the fields. */
export function createLogger(app: string, options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const make = (base: Record<string, unknown>): Logger => {
    const log = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
      if (RANK[level] < min) return;
      const entry: Record<string, unknown> = {
        time: new Date().toISOString(),
        level,
        app,
        msg,
        ...base,
      };
      for (const [k, v] of Object.entries(fields ?? {})) entry[k] = serialise(v);
      write(JSON.stringify(entry));
    };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.fields ?? {});
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && value in RANK;
}

/** The `--log-level` flag every app takes, with its environment variable. */
export const logLevelFlag = {
  type: 'string',
  env: 'LOG_LEVEL',
  default: 'info',
  placeholder: 'level',
  description: 'debug, info, warn or error',
} as const;
