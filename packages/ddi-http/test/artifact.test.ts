import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileArtifactSource, MULTIPART_BOUNDARY, parseRange, serveArtifact } from '../src/index.js';
import { randomBytesOf, raw } from './helpers.js';

const bytes = randomBytesOf(100, 7);
const sha1 = createHash('sha1').update(bytes).digest('hex');
let dir: string;
let server: Server;
let url: string;
let lastModified: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddi-art-'));
  const source = new FileArtifactSource(dir);
  const info = await source.write(5, 'image (1).bin', bytes);
  lastModified = Math.floor(info.lastModified! / 1000) * 1000;
  server = createServer((req, res) => {
    void serveArtifact(
      req,
      res,
      {
        moduleId: 5,
        filename: 'image (1).bin',
        size: info.size,
        sha1,
        lastModified: info.lastModified!,
      },
      source,
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/file`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('serveArtifact', () => {
  it('answers HEAD with the headers and no body', async () => {
    const res = await raw(url, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('100');
    expect(res.headers.etag).toBe(`"${sha1}"`);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.body.length).toBe(0);
  });

  it('sends the whole file with hawkBit headers', async () => {
    const res = await raw(url);
    expect(res.status).toBe(200);
    expect(res.body.equals(bytes)).toBe(true);
    expect(res.headers['content-disposition']).toBe('attachment;filename="image (1).bin"');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['last-modified']).toBe(new Date(lastModified).toUTCString());
  });

  it.each([
    ['bytes=0-9', 0, 9],
    ['bytes=90-', 90, 99],
    ['bytes=-5', 95, 99],
    ['bytes=-500', 0, 99],
    ['bytes=95-1000', 95, 99],
  ])('serves %s as one range', async (range, start, end) => {
    const res = await raw(url, { headers: { range } });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/100`);
    expect(res.headers['content-length']).toBe(String(end - start + 1));
    expect(res.body.equals(bytes.subarray(start, end + 1))).toBe(true);
  });

  it('serves several ranges as multipart/byteranges, sorted', async () => {
    const res = await raw(url, { headers: { range: 'bytes=20-29,0-9' } });
    expect(res.status).toBe(206);
    expect(res.headers['content-type']).toBe(
      `multipart/byteranges; boundary=${MULTIPART_BOUNDARY}`,
    );
    const part = (s: number, e: number) =>
      Buffer.concat([
        Buffer.from(
          `--${MULTIPART_BOUNDARY}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${s}-${e}/100\r\n\r\n`,
        ),
        bytes.subarray(s, e + 1),
      ]);
    const expected = Buffer.concat([
      part(0, 9),
      Buffer.from('\r\n'),
      part(20, 29),
      Buffer.from(`\r\n--${MULTIPART_BOUNDARY}--`),
    ]);
    expect(res.body.equals(expected)).toBe(true);
    expect(res.headers['content-length']).toBe(String(expected.length));
  });

  it.each([
    'bytes=100-',
    'bytes=50-40',
    'bytes=0-10,5-20',
    'bytes=abc',
    'bytes=-0',
    'items=0-1',
    'bytes=-',
  ])('answers %s with 416', async (range) => {
    const res = await raw(url, { headers: { range } });
    expect(res.status).toBe(416);
    expect(res.headers['content-range']).toBe('bytes */100');
    expect(res.body.length).toBe(0);
  });

  it('honours If-Range only for the current ETag or a date not older than Last-Modified', async () => {
    const range = 'bytes=0-9';
    expect((await raw(url, { headers: { range, 'if-range': `"${sha1}"` } })).status).toBe(206);
    expect((await raw(url, { headers: { range, 'if-range': '"other"' } })).status).toBe(200);
    expect(
      (
        await raw(url, {
          headers: { range, 'if-range': new Date(lastModified - 60_000).toUTCString() },
        })
      ).status,
    ).toBe(200);
    expect(
      (await raw(url, { headers: { range, 'if-range': new Date(lastModified).toUTCString() } }))
        .status,
    ).toBe(206);
    expect((await raw(url, { headers: { range, 'if-range': 'not a date' } })).status).toBe(200);
  });

  it('checks If-Match against the SHA-1', async () => {
    expect((await raw(url, { headers: { 'if-match': `"${sha1}"` } })).status).toBe(200);
    expect((await raw(url, { headers: { 'if-match': `"a", ${sha1}` } })).status).toBe(200);
    expect((await raw(url, { headers: { 'if-match': '*' } })).status).toBe(200);
    const miss = await raw(url, { headers: { 'if-match': '"0000"' } });
    expect(miss.status).toBe(412);
    expect(miss.body.length).toBe(0);
  });

  it('ignores Range on HEAD', async () => {
    const res = await raw(url, { method: 'HEAD', headers: { range: 'bytes=0-1' } });
    expect(res.status).toBe(200);
  });
});

describe('parseRange and FileArtifactSource', () => {
  it('parses without a header and for an empty file', () => {
    expect(parseRange(undefined, 10)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-0, 1-1', 2)).toEqual({
      kind: 'ranges',
      ranges: [
        { start: 0, end: 0 },
        { start: 1, end: 1 },
      ],
    });
  });

  it('keeps names inside the store', async () => {
    const source = new FileArtifactSource(dir);
    for (const name of ['..', '.', '../x', 'a/b', 'a\\b', 'nul\0']) {
      expect(source.pathOf(5, name)).toBeUndefined();
      expect(await source.stat(5, name)).toBeUndefined();
    }
    expect((await source.stat(5, 'image (1).bin'))?.hashes.sha1).toBe(sha1);
  });
});
