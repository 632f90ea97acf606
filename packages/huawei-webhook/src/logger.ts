/** The logging this package does: any console-like object fits; the default says nothing. */
export interface HuaweiLogger {
  debug?(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
  warn?(message: string, details?: Record<string, unknown>): void;
  error?(message: string, details?: Record<string, unknown>): void;
}

export const silentLogger: HuaweiLogger = {};
