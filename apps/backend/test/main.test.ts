import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('..', import.meta.url));
const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));

function run(args: string[], options: { untilReady?: boolean; env?: Record<string, string> } = {}) {
  const child = spawn(tsx, ['--conditions=@otaflow/source', 'src/main.ts', ...args], {
    cwd: dir,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const ready = new Promise<Record<string, unknown>>((resolve) => {
    child.stdout.on('data', (data: Buffer) => {
      stdout += data.toString();
      for (const line of stdout.split('\n')) {
        if (line.includes('"msg":"ready"')) resolve(JSON.parse(line) as Record<string, unknown>);
      }
    });
  });
  child.stderr.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, ready, exit, output: () => ({ stdout, stderr }) };
}

describe('main.ts', () => {
  it('prints usage for --help and exits 0', async () => {
    const p = run(['--help']);
    expect(await p.exit).toBe(0);
    const { stdout } = p.output();
    expect(stdout).toContain('Usage: otaflow-backend');
    for (const word of ['--port', 'MQTT_URL', 'AMQP_URL', '--inspect', 'TENANT', 'DATA_DIR'])
      expect(stdout).toContain(word);
  });

  it('refuses a bad value with exit code 2', async () => {
    const p = run(['--port', 'eighty']);
    expect(await p.exit).toBe(2);
    expect(p.output().stderr).toContain('--port / PORT');
  });

  it('logs one ready line with the HTTP and MQTT URLs and exits 0 on SIGTERM', async () => {
    const p = run(['--port', '0'], {
      env: { LOG_LEVEL: 'info', AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' },
    });
    const ready = await p.ready;
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.sie).toBe(false);
    const live = await fetch(`${ready.url}/livez`);
    expect(live.status).toBe(200);
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
    const lines = p
      .output()
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    expect(lines.filter((l) => l.msg.startsWith('running without SIE'))).toHaveLength(1);
    expect(lines.at(-1)?.msg).toBe('stopped');
  }, 60_000);
});
