import { runMain, untilAborted } from '@otaflow/cli';
import { BackendError } from './BackendError.js';
import { BACKEND_CLI, parseConfig } from './config.js';
import { createLogger } from './logger.js';
import { startBackend } from './server.js';

/**
 * The command: flags and environment -> a running backend. @otaflow/cli handles --help, unknown
 * flags (exit 2) and the signals; zod validates the values (exit 2 too); SIGINT/SIGTERM close
 * everything and exit 0.
 */
await runMain(BACKEND_CLI, async ({ flags, signal }) => {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) raw[key] = value;
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(raw);
  } catch (error) {
    if (error instanceof BackendError && error.code === 'BAD_CONFIG') {
      process.stderr.write(`${error.message}\n\nRun with --help for the options.\n`);
      return 2;
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  let backend: Awaited<ReturnType<typeof startBackend>>;
  try {
    backend = await startBackend(config, { logger });
  } catch (error) {
    logger.error({ err: error }, 'start failed');
    return 1;
  }
  await untilAborted(signal);
  logger.info(
    {
      signal: String((signal.reason as Error | undefined)?.message ?? '').replace('received ', ''),
    },
    'shutting down',
  );
  try {
    await backend.close();
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    return 1;
  }
  logger.info('stopped');
  return 0;
});
