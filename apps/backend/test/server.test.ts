import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type Backend, startBackend } from '../src/server.js';
import { AUTH, seed } from './helpers.js';

let backend: Backend;
beforeAll(async () => {
  const config = parseConfig({ port: 0, host: '127.0.0.1', logLevel: 'silent' });
  backend = await startBackend(config, {
    logger: createLogger({ level: 'silent' }),
    amqpConnectTimeoutMs: 1500,
    handlers: [
      {
        async handle(req, res) {
          if (!req.url?.startsWith('/extra')) return false;
          res.writeHead(200, { 'Content-Type': 'text/plain' }).end('extra');
          return true;
        },
      },
    ],
  });
});
afterAll(async () => {
  await backend?.close();
});

describe('dispatch by path prefix', () => {
  it('routes each prefix to its handler, extra handlers after, 404 for the rest', async () => {
    expect(await (await fetch(`${backend.url}/livez`)).json()).toEqual({ status: 'UP' });
    expect(await (await fetch(`${backend.url}/readyz`)).json()).toEqual({
      status: 'UP',
      database: 'UP',
      brokers: { mqtt: 'UP' },
    });
    expect((await fetch(`${backend.url}/metrics`)).headers.get('content-type')).toMatch(
      /^text\/plain/,
    );
    expect(
      (await fetch(`${backend.url}/rest/v1/userinfo`, { headers: { Authorization: AUTH } })).status,
    ).toBe(200);
    expect((await fetch(`${backend.url}/rest/v1/userinfo`)).status).toBe(401);
    expect(await (await fetch(`${backend.url}/extra/thing`)).text()).toBe('extra');
    // Another tenant's controller path is not DDI's: it falls through to 404.
    expect((await fetch(`${backend.url}/OTHER/controller/v1/dev`)).status).toBe(404);
    const nothing = await fetch(`${backend.url}/nothing-here`);
    expect(nothing.status).toBe(404);
    expect(await nothing.json()).toMatchObject({
      status: 404,
      error: 'Not Found',
      path: '/nothing-here',
    });
  });

  it('serves /artifacts/ with serveArtifact: HEAD, multi-range, If-Match, 405', async () => {
    const { moduleId } = await seed(backend, [], 'prefix-fw');
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('0123456789')]), 'ten.bin');
    const up = await fetch(`${backend.url}/rest/v1/softwaremodules/${moduleId}/artifacts`, {
      method: 'POST',
      headers: { Authorization: AUTH },
      body: form,
    });
    expect(up.status).toBe(201);
    const href = `${backend.url}/artifacts/${moduleId}/ten.bin`;
    const head = await fetch(href, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('10');
    const etag = head.headers.get('etag') ?? '';
    expect(etag).toMatch(/^"[0-9a-f]{40}"$/);
    const multi = await fetch(href, { headers: { Range: 'bytes=0-1,8-9' } });
    expect(multi.status).toBe(206);
    expect(multi.headers.get('content-type')).toMatch(/^multipart\/byteranges/);
    expect((await fetch(href, { headers: { 'If-Match': '"other"' } })).status).toBe(412);
    expect((await fetch(href, { headers: { 'If-Match': etag } })).status).toBe(200);
    expect((await fetch(href, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${backend.url}/artifacts/${moduleId}/none.bin`)).status).toBe(404);
  });
});
