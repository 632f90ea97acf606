import { BackendError } from './BackendError.js';
import { parseCommandLine } from './config.js';
import { createLogger } from './logger.js';
import { startBackend } from './server.js';

/** The command: flags and environment -> a running backend; SIGINT/SIGTERM close it and exit 0. */
async function main(): Promise<number | undefined> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof BackendError && error.code === 'BAD_CONFIG') {
      process.stderr.write(`${error.message}\n\nRun with --help for the options.\n`);
      return 2;
    }
    throw error;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return 0;
  }
  const logger = createLogger({ level: parsed.config.logLevel });
  let backend: Awaited<ReturnType<typeof startBackend>>;
  try {
    backend = await startBackend(parsed.config, { logger });
  } catch (error) {
    logger.error('start failed', { error });
    return 1;
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    backend
      .close()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return undefined;
}

main().then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
