import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHuaweiReceiverServer } from '../src/index.js';
import { readBody } from '../src/readBody.js';
import { captureLogger, post, setup } from './helpers.js';

type Ending = { body: string } | { tooLarge: number } | { failed: string };

const LIMIT = 16;
const endings: Ending[] = [];
let waiters: Array<(ending: Ending) => void> = [];
let server: http.Server;
let port: number;

function ended(ending: Ending): void {
  endings.push(ending);
  for (const wake of waiters) wake(ending);
  waiters = [];
}
const nextEnding = () => new Promise<Ending>((resolve) => waiters.push(resolve));

beforeAll(async () => {
  server = http.createServer((req, res) => {
    readBody(req, LIMIT, {
      body(body) {
        ended({ body: body.toString() });
        res.writeHead(200).end();
      },
      tooLarge(limit) {
        ended({ tooLarge: limit });
        res.writeHead(413, { connection: 'close' }).end();
      },
      failed(error) {
        ended({ failed: error.message });
      },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
});

function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('readBody', () => {
  it('hands over a body of exactly the limit', async () => {
    const ending = nextEnding();
    const response = await post(`http://127.0.0.1:${port}/`, 'x'.repeat(LIMIT));
    expect(response.status).toBe(200);
    expect(await ending).toEqual({ body: 'x'.repeat(LIMIT) });
  });

  it('refuses a declared length over the limit before reading a byte', async () => {
    const ending = nextEnding();
    const answer = await raw(
      `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${LIMIT + 1}\r\nconnection: close\r\n\r\n`,
    );
    expect(answer.startsWith('HTTP/1.1 413')).toBe(true);
    expect(await ending).toEqual({ tooLarge: LIMIT });
  });

  it('refuses a chunked body once it grows over the limit, and only once', async () => {
    const before = endings.length;
    const ending = nextEnding();
    const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
    const answer = await raw(
      `POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n${chunk('a'.repeat(10))}${chunk('b'.repeat(10))}${chunk('c'.repeat(10))}0\r\n\r\n`,
    );
    expect(answer.startsWith('HTTP/1.1 413')).toBe(true);
    expect(await ending).toEqual({ tooLarge: LIMIT });
    expect(endings.length - before).toBe(1);
  });

  it('reports a request cut off mid-body as failed', async () => {
    const ending = nextEnding();
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc', () =>
        socket.destroy(),
      );
    });
    expect(await ending).toHaveProperty('failed');
  });
});

describe('receiver logging', () => {
  it('logs a refusal in pino order: fields first, then the message', async () => {
    const { service } = await setup({ deviceIds: ['dev-1'] });
    const warnings: Array<{ message: string; details?: Record<string, unknown> }> = [];
    const receiver = await createHuaweiReceiverServer({
      service,
      bodyLimit: 64,
      logger: captureLogger('warn', (message, details) => warnings.push({ message, details })),
    });
    try {
      expect((await post(receiver.url, 'x'.repeat(65))).status).toBe(413);
      expect((await post(receiver.url, '{')).status).toBe(400);
    } finally {
      await receiver.close();
    }
    expect(warnings.map((w) => [w.message, w.details?.status])).toEqual([
      ['huawei push refused', 413],
      ['huawei push refused', 400],
    ]);
    expect(warnings[0]?.details?.reason).toBe('body larger than 64 bytes');
  });
});
