import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnApp } from '@otaflow/cli';
import { describe, expect, it, onTestFinished } from 'vitest';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) => spawnApp(main, args, { env });

describe('main.ts', () => {
  it('prints usage for --help and exits 0', async () => {
    const { code, out: stdout } = await run(['--help']).done;
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: otaflow-backend');
    for (const word of ['--port', 'MQTT_URL', 'AMQP_URL', '--inspect', 'TENANT', 'DATA_DIR'])
      expect(stdout).toContain(word);
  });

  it('refuses a bad value with exit code 2', async () => {
    const { code, err } = await run(['--port', 'eighty']).done;
    expect(code).toBe(2);
    expect(err).toContain('--port / PORT');
  });

  it('logs one ready line with the HTTP and MQTT URLs and exits 0 on SIGTERM', async () => {
    // The default store (embedded PGlite) in a directory of its own, not the user's.
    const dataDir = mkdtempSync(join(tmpdir(), 'otaflow-main-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const p = run(['--port', '0'], {
      LOG_LEVEL: 'info',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
      DATA_DIR: dataDir,
    });
    const ready = JSON.parse(await p.waitForLine((l) => l.includes('"msg":"ready"'))) as Record<
      string,
      unknown
    >;
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.sie).toBe(false);
    expect(ready).toMatchObject({ store: 'pglite', storeLocation: dataDir });
    const live = await fetch(`${ready.url}/livez`);
    expect(live.status).toBe(200);
    const exit = await p.stop();
    expect(exit.code).toBe(0);
    const lines = exit.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    expect(lines.filter((l) => l.msg.startsWith('running without SIE'))).toHaveLength(1);
    expect(lines.at(-1)?.msg).toBe('stopped');
  }, 60_000);
});
