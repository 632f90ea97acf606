/**
 * One log call, in pino's argument order: the fields first, then the message. A plain message
 * alone is accepted too. Errors go under `err`, which pino's standard serializer understands.
 */
export interface LogFn {
  (fields: Record<string, unknown>, message?: string): void;
  (message: string): void;
}

/**
 * The logger every otaflow package accepts. A pino logger fits as it is; so does anything with
 * these five members, which is why packages take this type instead of pino's own.
 */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = () => {};

/** Says nothing; the default of every package, so that embedding otaflow prints nothing unasked. */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};
