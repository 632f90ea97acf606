import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger, isLogLevel, type LoggerOptions, spawnApp } from '../src/index.js';

function capture(app: string, options: Omit<LoggerOptions, 'write'> = {}) {
  const lines: string[] = [];
  const log = createLogger(app, { ...options, write: (l) => lines.push(l) });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, parsed };
}

describe('createLogger', () => {
  it('writes one JSON object per line, filtered by level', () => {
    const lines: string[] = [];
    const log = createLogger('t', { level: 'info', write: (l) => lines.push(l) }).child({
      device: 'd1',
    });
    log.debug('hidden');
    log.info({ n: 1, err: new Error('boom') }, 'hello');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 'info',
      app: 't',
      msg: 'hello',
      device: 'd1',
      n: 1,
      err: { message: 'boom' },
    });
  });

  it('gives the level as its label, the time as an ISO string, and no pid or hostname', () => {
    const { log, lines, parsed } = capture('backend', { fields: { node: 'n1' } });
    log.info({ url: 'http://x' }, 'ready');
    log.warn('plain');
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => !l.endsWith('\n') && !l.includes('\n'))).toBe(true);
    const [ready, plain] = parsed();
    expect(Object.keys(ready ?? {})).toEqual(['level', 'time', 'app', 'node', 'url', 'msg']);
    expect(ready).toMatchObject({ level: 'info', app: 'backend', node: 'n1', msg: 'ready' });
    expect(new Date(ready?.time as string).toISOString()).toBe(ready?.time);
    expect(plain).toEqual({
      level: 'warn',
      time: plain?.time,
      app: 'backend',
      node: 'n1',
      msg: 'plain',
    });
    // startReadyApp finds the ready line by this substring.
    expect(lines[0]).toContain('"msg":"ready"');
  });

  it('defaults to info, and filters each level', () => {
    const byDefault = capture('t');
    byDefault.log.debug('no');
    byDefault.log.info('yes');
    expect(byDefault.parsed().map((e) => e.msg)).toEqual(['yes']);

    const debug = capture('t', { level: 'debug' });
    for (const level of ['debug', 'info', 'warn', 'error'] as const) debug.log[level](level);
    expect(debug.parsed().map((e) => e.level)).toEqual(['debug', 'info', 'warn', 'error']);

    const error = capture('t', { level: 'error' });
    for (const level of ['debug', 'info', 'warn', 'error'] as const) error.log[level](level);
    expect(error.parsed().map((e) => e.level)).toEqual(['error']);

    const silent = capture('t', { level: 'silent' });
    for (const level of ['debug', 'info', 'warn', 'error'] as const) silent.log[level](level);
    silent.log.child({ a: 1 }).error('still nothing');
    expect(silent.lines).toEqual([]);
  });

  it('carries child bindings to every line, nested children adding theirs', () => {
    const { log, parsed } = capture('device');
    const one = log.child({ device: 'd1' });
    const two = one.child({ actionId: 7 });
    one.info('one');
    two.info({ step: 'download' }, 'two');
    log.info('root');
    expect(parsed()).toEqual([
      expect.objectContaining({ app: 'device', device: 'd1', msg: 'one' }),
      expect.objectContaining({ app: 'device', device: 'd1', actionId: 7, step: 'download' }),
      expect.not.objectContaining({ device: 'd1' }),
    ]);
  });

  it('serialises errors under err, and under the legacy error key the same way', () => {
    const { log, parsed } = capture('t');
    const coded = Object.assign(new TypeError('bad input'), { code: 'BAD' });
    log.error({ err: coded }, 'failed');
    log.error({ error: new Error('older', { cause: new Error('root') }) }, 'failed too');
    log.warn({ err: 'just text' }, 'not an error');
    const [first, second, third] = parsed();
    expect(first?.err).toMatchObject({ type: 'TypeError', message: 'bad input', code: 'BAD' });
    expect(first?.err).toHaveProperty('stack', expect.stringContaining('bad input'));
    expect(second?.error).toMatchObject({ type: 'Error', message: 'older: root' });
    expect(third?.err).toBe('just text');
  });

  it('writes to stdout without losing a line logged just before the process exits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otaflow-logger-'));
    const main = join(dir, 'main.ts');
    const source = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    await writeFile(
      main,
      `import { createLogger } from ${JSON.stringify(source)};
const log = createLogger('exiting');
for (let i = 0; i < 2000; i++) log.info({ i, pad: 'x'.repeat(100) }, 'line');
log.error('last words');
process.exit(3);
`,
    );
    const exit = await spawnApp(main).done;
    expect(exit.code).toBe(3);
    const lines = exit.out.trim().split('\n');
    expect(lines).toHaveLength(2001);
    expect(JSON.parse(lines[2000] as string)).toMatchObject({
      level: 'error',
      app: 'exiting',
      msg: 'last words',
    });
  });
});

describe('isLogLevel', () => {
  it('knows the four levels and silent', () => {
    for (const level of ['debug', 'info', 'warn', 'error', 'silent']) {
      expect(isLogLevel(level)).toBe(true);
    }
    for (const value of ['trace', 'fatal', 'INFO', '', 30, undefined]) {
      expect(isLogLevel(value)).toBe(false);
    }
  });
});
