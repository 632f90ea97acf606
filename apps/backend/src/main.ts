import { runMain, untilAborted } from '@otaflow/cli';
import { BackendError } from './BackendError.js';
import { BACKEND_CLI, parseConfig } from './config.js';
import { createLogger } from './logger.js';
import { addPoolMetrics } from './metrics/addPoolMetrics.js';
import { type BackendStore, openBackendStore } from './openBackendStore.js';
import { hashPassword } from './tenants/users.js';

// `otaflow-backend hash-password`: the hash of the password on standard input, for a users file.
if (process.argv[2] === 'hash-password') {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (password === '') {
    process.stderr.write('hash-password: give the password on standard input\n');
    process.exit(2);
  }
  process.stdout.write(`${await hashPassword(password)}\n`);
  process.exit(0);
}

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
  // Every adapter loads while a new PGlite directory is copied from its template (file I/O on
  // libuv's threads); the state opens before any port is taken, so a second backend on the same
  // directory is refused by PGlite's lock first.
  const server = import('./server.js');
  server.catch(() => {});
  let state: BackendStore;
  try {
    state = await openBackendStore(config, { logger: logger.child({ component: 'store' }) });
  } catch (error) {
    logger.error({ err: error }, 'start failed: the store did not open');
    return 1;
  }
  const { startBackend } = await server;
  let backend: Awaited<ReturnType<typeof startBackend>>;
  try {
    backend = await startBackend(config, {
      logger,
      store: state.store,
      storeOf: state.storeOf,
      storeDescription: { ...state.description },
      ...(state.artifactsDir ? { artifactsDir: state.artifactsDir } : {}),
      ...(state.outboxWakeups ? { outboxWakeups: state.outboxWakeups } : {}),
      ...(state.onConfigurationChange
        ? { onConfigurationChange: state.onConfigurationChange.bind(state) }
        : {}),
    });
  } catch (error) {
    logger.error({ err: error }, 'start failed');
    await state.close().catch(() => {});
    return 1;
  }
  if (state.poolStats) addPoolMetrics(backend.metrics, state.poolStats);
  await untilAborted(signal);
  logger.info(
    {
      signal: String((signal.reason as Error | undefined)?.message ?? '').replace('received ', ''),
    },
    'shutting down',
  );
  try {
    await backend.close();
    // After the server: no request may still write. PGlite checkpoints and frees its lock.
    await state.close();
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    return 1;
  }
  logger.info('stopped');
  return 0;
});
