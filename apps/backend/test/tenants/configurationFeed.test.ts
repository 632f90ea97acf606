import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { type BackendStore, openBackendStore } from '../../src/openBackendStore.js';
import { type Backend, startBackend } from '../../src/server.js';
import { postgresAvailable, scratchDatabase } from '../services.js';
import { as, poll, userNamed, writeUsersFile } from '../tenantHelpers.js';

const available = await postgresAvailable('the configuration feed test');

/**
 * A tenant's configuration changed through one backend reaches another backend on the same
 * database by the database's notification (migration 010), not by the periodic reread: that is
 * set to an hour here, so only the notification can explain the change.
 */
describe.skipIf(!available)('tenant configuration across backends', () => {
  let dir: string;
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  const states: BackendStore[] = [];
  const backends: Backend[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otaflow-config-feed-'));
    database = await scratchDatabase('otaflow_config_feed');
    const usersFile = await writeUsersFile(dir);
    for (const name of ['a', 'b']) {
      const config = parseConfig({
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
        usersFile,
        databaseUrl: database.url,
        dataDir: join(dir, name),
      });
      const logger = createLogger({ level: 'silent' });
      const state = await openBackendStore(config, { logger });
      states.push(state);
      backends.push(
        await startBackend(config, {
          logger,
          store: state.store,
          storeOf: state.storeOf,
          ...(state.onConfigurationChange
            ? { onConfigurationChange: state.onConfigurationChange.bind(state) }
            : {}),
          settingsRefreshMs: 3_600_000,
          artifactsDir: join(dir, name, 'artifacts'),
        }),
      );
    }
  });
  afterAll(async () => {
    for (const backend of backends) await backend.close();
    for (const state of states) await state.close();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it("turns gateway-token auth on for the other backend's devices at once", async () => {
    const [a, b] = backends as [Backend, Backend];
    expect((await poll(b, 'ACME', 'feed-device')).status).toBe(200);
    const put = await as(a, userNamed('acme-admin'), 'PUT', '/system/configs', {
      'authentication.gatewaytoken.enabled': true,
      'authentication.gatewaytoken.key': 'feed-key',
    });
    expect(put.status).toBe(200);
    // Backend b's settings change when its notification arrives: wait for that, nothing else.
    const settings = b.tenant('ACME')?.settings;
    if (!settings) throw new Error('no ACME on b');
    await new Promise<void>((resolve) => {
      if (settings.get('authentication.gatewaytoken.enabled')) resolve();
      const stop = settings.onChange((values) => {
        if (values['authentication.gatewaytoken.enabled']) {
          stop();
          resolve();
        }
      });
    });
    expect((await poll(b, 'ACME', 'feed-device')).status).toBe(401);
    expect((await poll(b, 'ACME', 'feed-device', 'GatewayToken feed-key')).status).toBe(200);
    // Another tenant on the same backends is untouched.
    expect((await poll(b, 'BETA', 'feed-device')).status).toBe(200);
  });
});
