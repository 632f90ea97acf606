import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type Backend, startBackend } from '../src/server.js';

let dir: string;
let built: Backend;
let unbuilt: Backend;

async function start(consoleDir: string): Promise<Backend> {
  return startBackend(parseConfig({ port: 0, host: '127.0.0.1', logLevel: 'silent' }), {
    logger: createLogger({ level: 'silent' }),
    consoleDir,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'otaflow-console-'));
  await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
  await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><title>console</title>');
  await writeFile(join(dir, 'dist', 'assets', 'index-abc.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.txt'), 'not for you');
  built = await start(join(dir, 'dist'));
  unbuilt = await start(join(dir, 'nothing-here'));
});

afterAll(async () => {
  await built?.close();
  await unbuilt?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A request sent as written: fetch would resolve `..` before it leaves. */
function raw(backend: Backend, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(backend.port, '127.0.0.1', () =>
      socket.end(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      text += chunk;
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('the console under /ui/', () => {
  it('serves index.html for the app and for its client routes, never cached', async () => {
    for (const path of ['/ui/', '/ui/targets/dev-1', '/ui/targets/dev-1/actions/3']) {
      const res = await fetch(`${built.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await res.text()).toContain('<title>console</title>');
    }
    const bare = await fetch(`${built.url}/ui`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/ui/');
  });

  it('serves hashed assets with their type, for good, and HEAD without a body', async () => {
    const res = await fetch(`${built.url}/ui/assets/index-abc.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(await res.text()).toBe('console.log(1)');
    const head = await fetch(`${built.url}/ui/assets/index-abc.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('14');
  });

  it('answers 404 for a missing file, 405 for other methods, and names nothing outside', async () => {
    expect((await fetch(`${built.url}/ui/assets/gone.js`)).status).toBe(404);
    expect((await fetch(`${built.url}/ui/`, { method: 'POST' })).status).toBe(405);
    for (const target of [
      '/ui/../secret.txt',
      '/ui/%2e%2e/secret.txt',
      '/ui/..%2fsecret.txt',
      '/ui/assets/..%2f..%2fsecret.txt',
      '/ui/%2e%2e%2f%2e%2e%2fpackage.json',
    ]) {
      const answer = await raw(built, target);
      expect(answer).not.toContain('not for you');
      expect(answer).not.toContain('"name"');
      expect(answer).toMatch(/^HTTP\/1\.1 (404|200)/);
    }
    expect(await raw(built, '/ui/%E0%A4%A')).toMatch(/^HTTP\/1\.1 400/);
  });

  it('says how to build the console when it is not built', async () => {
    const res = await fetch(`${unbuilt.url}/ui/`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('pnpm --filter @otaflow/console build');
  });
});
