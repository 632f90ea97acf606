import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnApp, startReadyApp, waitFor } from '../src/index.js';

async function script(body: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'otaflow-spawn-'));
  const file = join(dir, 'main.ts');
  await writeFile(file, body);
  return file;
}

describe('spawnApp', () => {
  it('runs a TypeScript main with args and env, and collects its output', async () => {
    const main = await script(
      "const n: number = 2; console.log(process.argv.slice(2).join(',')); console.error('x' + String(n), process.env.OTAFLOW_T, process.env.HOME === undefined);",
    );
    const app = spawnApp(main, ['a', 'b'], { env: { OTAFLOW_T: 'yes', HOME: undefined } });
    const exit = await app.done;
    expect(exit).toMatchObject({ code: 0, signal: null, out: 'a,b\n', err: 'x2 yes true\n' });
  });

  it('passes nodeArgs to Node before the app', async () => {
    const main = await script('console.log(JSON.stringify(process.execArgv));');
    const exit = await spawnApp(main, [], { nodeArgs: ['--max-old-space-size=123'] }).done;
    expect(JSON.parse(exit.out)).toContain('--max-old-space-size=123');
  });

  it('waits for a line and stops the app with SIGTERM', async () => {
    const main = await script(
      "process.on('SIGTERM', () => { console.log('bye'); process.exit(0); }); console.log(JSON.stringify({ msg: 'ready' })); setInterval(() => {}, 1000);",
    );
    const app = spawnApp(main);
    const line = await app.waitForLine((l) => l.includes('"ready"'));
    expect(JSON.parse(line)).toEqual({ msg: 'ready' });
    const exit = await app.stop();
    expect(exit.code).toBe(0);
    expect(exit.out).toContain('bye');
  });

  it('rejects a wait when the app exits first', async () => {
    const app = spawnApp(await script('console.log("nothing");'));
    await expect(app.waitForLine((l) => l === 'never', 10_000)).rejects.toThrow(
      /exited \(code 0\)/,
    );
  });
});

describe('waitFor', () => {
  it('returns the first truthy value, or times out naming what it waited for', async () => {
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : undefined), 'n', 1000, 1)).toBe(3);
    await expect(waitFor(() => false, 'never', 20, 5)).rejects.toThrow(/waiting for never/);
  });
});

describe('startReadyApp', () => {
  it('returns the parsed ready line and keeps warnings for failure messages', async () => {
    const main = await script(
      "process.on('SIGTERM', () => process.exit(0)); console.log(JSON.stringify({ level: 'warn', msg: 'careful' })); console.log(JSON.stringify({ level: 'info', msg: 'ready', url: 'http://127.0.0.1:1' })); setInterval(() => {}, 1000);",
    );
    const app = await startReadyApp(main, [], { nodeArgs: ['--no-warnings'] });
    expect(app.ready).toMatchObject({ msg: 'ready', url: 'http://127.0.0.1:1' });
    expect(app.problems).toEqual([JSON.stringify({ level: 'warn', msg: 'careful' })]);
    expect(await app.stop()).toBe(0);
  });

  it('fails with what the app said when it exits before it is ready', async () => {
    const main = await script("console.error('port taken'); process.exit(3);");
    await expect(startReadyApp(main)).rejects.toThrow(/exited \(code 3\)[\s\S]*port taken/);
  });
});
