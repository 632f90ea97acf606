import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BenchKitError, encodeRequest, LoadClient } from '../src/index.js';

interface Seen {
  socket: number;
  method: string;
  url: string;
  type: string | undefined;
  body: string;
}

const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length > 0) closers.pop()?.();
});

/** A real node:http server on loopback that records what it got and answers with `answer`. */
async function server(
  answer: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void = (
    _req,
    res,
  ) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }).end('ok');
  },
) {
  const seen: Seen[] = [];
  const sockets = new Map<object, number>();
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, sockets.size);
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({
        socket: sockets.get(req.socket)!,
        method: req.method!,
        url: req.url!,
        type: req.headers['content-type'],
        body,
      });
      answer(req, res, body);
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    srv.closeAllConnections();
    srv.close();
  });
  return { srv, seen, origin: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` };
}

describe('LoadClient', () => {
  it('sends each sequence in order on one connection and every request exactly once', async () => {
    const { seen, origin } = await server();
    const client = new LoadClient(`${origin}/ignored`, 3);
    closers.push(() => client.close());
    const sequences = Array.from({ length: 7 }, (_, s) =>
      Array.from({ length: 4 }, (_, i) =>
        client.request('POST', `/s${s}/${i}`, { 'content-type': 'application/json' }, `{"i":${i}}`),
      ),
    );
    const rate = await client.drive(sequences);
    expect(rate).toBeGreaterThan(0);
    expect(seen).toHaveLength(28);
    for (let s = 0; s < 7; s++) {
      const mine = seen.filter((r) => r.url.startsWith(`/s${s}/`));
      expect(mine.map((r) => r.url)).toEqual([0, 1, 2, 3].map((i) => `/s${s}/${i}`));
      expect(new Set(mine.map((r) => r.socket)).size).toBe(1);
      expect(mine.every((r) => r.method === 'POST' && r.type === 'application/json')).toBe(true);
      expect(mine.map((r) => r.body)).toEqual([0, 1, 2, 3].map((i) => `{"i":${i}}`));
    }
    // Three connections, kept for the next drive.
    expect(new Set(seen.map((r) => r.socket)).size).toBe(3);
    await client.drive([[client.request('GET', '/again')]]);
    expect(seen.at(-1)).toMatchObject({ method: 'GET', url: '/again', body: '' });
    expect(new Set(seen.map((r) => r.socket)).size).toBe(3);
  });

  it('fails the drive on an answer with another status', async () => {
    const { origin } = await server((_req, res) =>
      res.writeHead(500, { 'content-length': 4 }).end('oops'),
    );
    const client = new LoadClient(origin, 1);
    closers.push(() => client.close());
    const error = await client.drive([[client.request('GET', '/')]]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BenchKitError);
    expect(error).toMatchObject({ code: 'UNEXPECTED_STATUS' });
    expect((error as Error).message).toContain('answer 500, expected 200: oops');
    // The status it expects is the caller's.
    expect(await client.drive([[client.request('GET', '/')]], 500)).toBeGreaterThan(0);
  });

  it('fails the drive on an answer without Content-Length (it could not tell where it ends)', async () => {
    const { origin } = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('chunked');
    });
    const client = new LoadClient(origin, 1);
    closers.push(() => client.close());
    await expect(client.drive([[client.request('GET', '/')]])).rejects.toMatchObject({
      code: 'BAD_ANSWER',
    });
  });

  it('reopens connections the server closed between drives', async () => {
    const { srv, seen, origin } = await server();
    const client = new LoadClient(origin, 2);
    closers.push(() => client.close());
    await client.drive([[client.request('GET', '/1')], [client.request('GET', '/2')]]);
    srv.closeAllConnections();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.drive([[client.request('GET', '/3')], [client.request('GET', '/4')]]);
    expect(seen.map((r) => r.url).sort()).toEqual(['/1', '/2', '/3', '/4']);
  });
});

describe('encodeRequest', () => {
  it('writes the request line, host, headers and a Content-Length for a body', () => {
    const url = new URL('http://127.0.0.1:8080/x');
    expect(encodeRequest('GET', url, '/a?b=1', { accept: 'application/json' }).toString()).toBe(
      'GET /a?b=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\naccept: application/json\r\n\r\n',
    );
    expect(encodeRequest('POST', url, '/p', {}, 'é').toString()).toBe(
      'POST /p HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-length: 2\r\n\r\né',
    );
  });
});
