/** Where the publisher and consumer report what they do; defaults to the console. */
export interface SieLogger {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export const consoleSieLogger: SieLogger = {
  info: (message, details) => console.info(`[sie-amqp] ${message}`, details ?? ''),
  warn: (message, details) => console.warn(`[sie-amqp] ${message}`, details ?? ''),
  error: (message, details) => console.error(`[sie-amqp] ${message}`, details ?? ''),
};

export const silentSieLogger: SieLogger = { info() {}, warn() {}, error() {} };
