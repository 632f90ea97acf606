import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OpenLoadClient, percentile } from '../src/index.js';

const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length > 0) closers.pop()?.();
});

/** A real server on loopback that answers after `delayMs`, counting connections. */
async function server(delayMs: number, status = 200) {
  const sockets = new Set<object>();
  const srv = http.createServer((req, res) => {
    sockets.add(req.socket);
    setTimeout(() => res.writeHead(status, { 'content-length': 2 }).end('ok'), delayMs);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closers.push(() => {
    srv.closeAllConnections();
    srv.close();
  });
  return { origin: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, sockets };
}

describe('OpenLoadClient', () => {
  it('starts requests at the rate asked, opening connections as the load needs them', async () => {
    const { origin, sockets } = await server(20);
    const client = new OpenLoadClient(origin, 64);
    closers.push(() => client.close());
    const result = await client.run(200, 0.5, (i) => client.request('GET', `/x/${i}`));
    expect(result).toMatchObject({ sent: 100, answered: 100, failed: 0 });
    // 20 ms answers at 5 ms spacing: about four in flight, never one connection per request.
    expect(sockets.size).toBeGreaterThan(1);
    expect(sockets.size).toBeLessThan(50);
    expect(percentile(result.latenciesMs, 0.5)).toBeGreaterThanOrEqual(19);
  });

  it('counts the time a request waited for a connection in its latency', async () => {
    const { origin } = await server(20);
    const client = new OpenLoadClient(origin, 1);
    closers.push(() => client.close());
    // Ten requests due within 10 ms on one connection of 20 ms answers: the last waits ~180 ms.
    const result = await client.run(1000, 0.01, (i) => client.request('GET', `/x/${i}`));
    expect(result.answered).toBe(10);
    expect(percentile(result.latenciesMs, 1)).toBeGreaterThanOrEqual(170);
    expect(percentile(result.latenciesMs, 0)).toBeLessThan(100);
  });

  it('counts answers of another status as failures', async () => {
    const { origin } = await server(0, 503);
    const client = new OpenLoadClient(origin, 4);
    closers.push(() => client.close());
    await expect(client.run(100, 0.05, () => client.request('GET', '/'))).rejects.toMatchObject({
      code: 'UNEXPECTED_STATUS',
    });
  });
});
