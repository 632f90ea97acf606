/**
 * The shared HTTP toolkit, over real loopback HTTP where it touches requests and responses: body
 * limits and aborts, negotiation with q-values, ETag lists, the hawkBit and Spring error bodies.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DdiError,
  etagMatches,
  HAWKBIT_ERRORS,
  hawkbitErrorBody,
  isJsonContentType,
  negotiate,
  readBody,
  requestBase,
  sendEmpty,
  sendHawkbitError,
  sendJson,
  springError,
} from '../src/index.js';
import { raw } from './helpers.js';

let server: Server;
let url: string;
let port: number;
/** Each test sets what the server does with a request. */
let handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;
const settled: Array<Promise<unknown>> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    settled.push(Promise.resolve(handler(req, res)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** Answers with the body's length, or the DdiError's code and status. */
function echoLength(limit: number) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const body = await readBody(req, limit);
      sendJson(res, 200, { length: body.length, text: body.toString('utf8') });
    } catch (error) {
      if (!(error instanceof DdiError)) throw error;
      lastError = error;
      if (error.code === 'BODY_TOO_LARGE')
        sendEmpty(res, error.status ?? 500, { Connection: 'close' });
      else res.destroy();
    }
  };
}
let lastError: DdiError | undefined;
/** Read through a call, since the handler sets it where the compiler cannot see. */
const last = (): DdiError | undefined => lastError;

function chunked(parts: string[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    let i = 0;
    const next = () => {
      if (i === parts.length) {
        req.end();
        return;
      }
      req.write(parts[i++]!);
      setTimeout(next, 10);
    };
    next();
  });
}

describe('readBody', () => {
  it('reads a body that came with the headers, and one in several chunks', async () => {
    handler = echoLength(100);
    const one = await raw(url, { method: 'POST', body: 'hello' });
    expect(JSON.parse(one.text)).toEqual({ length: 5, text: 'hello' });
    const parts = await chunked(['ab', 'cd', 'ef']);
    expect(JSON.parse(parts.text)).toEqual({ length: 6, text: 'abcdef' });
    const none = await raw(url, { method: 'POST' });
    expect(JSON.parse(none.text)).toEqual({ length: 0, text: '' });
  });

  it('refuses a declared length past the limit before reading, with 413', async () => {
    handler = echoLength(10);
    lastError = undefined;
    const res = await raw(url, { method: 'POST', body: 'x'.repeat(11) });
    expect(res.status).toBe(413);
    expect(last()?.code).toBe('BODY_TOO_LARGE');
    expect(last()?.status).toBe(413);
  });

  it('stops reading a chunked body at the limit, and the 413 reaches the client', async () => {
    handler = echoLength(10);
    lastError = undefined;
    const res = await chunked(['12345', '67890', 'x']).catch(() => ({ status: 413, text: '' }));
    expect(res.status).toBe(413);
    expect(last()?.code).toBe('BODY_TOO_LARGE');
  });

  it('rejects with BODY_ABORTED when the client goes away mid-body', async () => {
    lastError = undefined;
    let done!: () => void;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    handler = async (req, res) => {
      await echoLength(100)(req, res);
      done();
    };
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"a":');
      setTimeout(() => socket.destroy(), 30);
    });
    await finished;
    expect(last()?.code).toBe('BODY_ABORTED');
  });
});

describe('negotiate', () => {
  const offered = ['application/hal+json', 'application/json'] as const;
  async function chosen(accept?: string): Promise<string> {
    handler = (req, res) => {
      sendJson(res, 200, { type: negotiate(req, offered) ?? null });
    };
    const res = await raw(url, accept === undefined ? {} : { headers: { accept } });
    return JSON.parse(res.text).type;
  }

  it('honours q-values and wildcards, and gives undefined when nothing fits', async () => {
    expect(await chosen()).toBe('application/hal+json');
    expect(await chosen('*/*')).toBe('application/hal+json');
    expect(await chosen('application/json')).toBe('application/json');
    expect(await chosen('application/hal+json;q=0.5, application/json')).toBe('application/json');
    expect(await chosen('application/json;q=0.1, application/*')).toBe('application/hal+json');
    expect(await chosen('text/html, application/json;q=0.9')).toBe('application/json');
    expect(await chosen('application/json;q=0')).toBeNull();
    expect(await chosen('text/html')).toBeNull();
    expect(await chosen('application/json;q=0, application/hal+json;q=0')).toBeNull();
  });
});

describe('isJsonContentType', () => {
  it('takes json, hal+json and any +json, with parameters, in any case', () => {
    expect(isJsonContentType('application/json')).toBe(true);
    expect(isJsonContentType('application/hal+json')).toBe(true);
    expect(isJsonContentType('Application/JSON; charset=utf-8')).toBe(true);
    expect(isJsonContentType('application/vnd.example+json')).toBe(true);
    expect(isJsonContentType('text/json')).toBe(false);
    expect(isJsonContentType('text/plain')).toBe(false);
    expect(isJsonContentType('')).toBe(false);
    expect(isJsonContentType(undefined)).toBe(false);
  });
});

describe('etagMatches', () => {
  it('reads lists, weak tags, * and bare or quoted tags', () => {
    expect(etagMatches('"abc"', '"abc"')).toBe(true);
    expect(etagMatches('"abc"', 'abc')).toBe(true);
    expect(etagMatches('W/"abc"', '"abc"')).toBe(true);
    expect(etagMatches('"x", "abc" , "y"', '"abc"')).toBe(true);
    expect(etagMatches('*', '"abc"')).toBe(true);
    expect(etagMatches('"abcd"', '"abc"')).toBe(false);
    expect(etagMatches('"x", W/"y"', '"abc"')).toBe(false);
    expect(etagMatches('', '"abc"')).toBe(false);
    expect(etagMatches(undefined, '"abc"')).toBe(false);
  });
});

describe('error bodies and senders', () => {
  it('builds hawkBit ExceptionInfo bodies from the catalogue', () => {
    expect(HAWKBIT_ERRORS.notFound).toEqual({
      errorCode: 'hawkbit.server.error.repo.entityNotFound',
      exceptionClass: 'org.eclipse.hawkbit.repository.exception.EntityNotFoundException',
    });
    expect(hawkbitErrorBody('notFound', 'gone')).toEqual({
      exceptionClass: 'org.eclipse.hawkbit.repository.exception.EntityNotFoundException',
      errorCode: 'hawkbit.server.error.repo.entityNotFound',
      message: 'gone',
    });
    expect(hawkbitErrorBody('notFound', 'gone', { type: 'Target' }).info).toEqual({
      type: 'Target',
    });
    for (const entry of Object.values(HAWKBIT_ERRORS)) {
      expect(entry.errorCode).toMatch(/^hawkbit\.server\.error\./);
      expect(entry.exceptionClass).toMatch(/^(org\.eclipse\.hawkbit|jakarta|java)\./);
    }
  });

  it('sends a hawkBit error as JSON with its length', async () => {
    handler = (_req, res) => sendHawkbitError(res, 409, 'exists', 'twice', { id: 1 });
    const res = await raw(url);
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    expect(JSON.parse(res.text)).toEqual({
      exceptionClass: 'org.eclipse.hawkbit.repository.exception.EntityAlreadyExistsException',
      errorCode: 'hawkbit.server.error.repo.entityAlreadyExists',
      message: 'twice',
      info: { id: 1 },
    });
  });

  it("builds Spring Boot's error body", () => {
    const body = springError(405, '/rest/v1/targets');
    expect(body).toMatchObject({
      status: 405,
      error: 'Method Not Allowed',
      path: '/rest/v1/targets',
    });
    expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
    expect(springError(401, '/x').error).toBe('Unauthorized');
    expect(springError(406, '/x').error).toBe('Not Acceptable');
    expect(springError(415, '/x').error).toBe('Unsupported Media Type');
    expect(springError(599, '/x').error).toBe('Error');
  });

  it('sends JSON with a chosen type and headers, and empty answers', async () => {
    handler = (req, res) => {
      if (req.url === '/empty') sendEmpty(res, 204, { 'X-Why': 'none' });
      else
        sendJson(
          res,
          201,
          { ü: 1 },
          { contentType: 'application/hal+json', headers: { ETag: '"1"' } },
        );
    };
    const json = await raw(url);
    expect(json.status).toBe(201);
    expect(json.headers['content-type']).toBe('application/hal+json;charset=UTF-8');
    expect(json.headers.etag).toBe('"1"');
    expect(Number(json.headers['content-length'])).toBe(json.body.length);
    expect(JSON.parse(json.text)).toEqual({ ü: 1 });
    const empty = await raw(`${url}/empty`);
    expect(empty.status).toBe(204);
    expect(empty.headers['x-why']).toBe('none');
    expect(empty.text).toBe('');
  });

  it('gives the request base, or the configured one without trailing slashes', async () => {
    handler = (req, res) => {
      sendJson(res, 200, {
        plain: requestBase(req),
        configured: requestBase(req, 'https://ota.example.com//'),
      });
    };
    const res = JSON.parse((await raw(url, { headers: { host: 'device.local:8080' } })).text);
    expect(res).toEqual({
      plain: 'http://device.local:8080',
      configured: 'https://ota.example.com',
    });
  });
});

afterAll(async () => {
  await Promise.allSettled(settled);
});
