import http from 'node:http';
import net from 'node:net';
import type { DomainEvent } from '@otaflow/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type BackendConfigInput, parseConfig } from '../src/config.js';
import { createEventStream, type EventStream } from '../src/events/createEventStream.js';
import { createLogger } from '../src/logger.js';
import { createBasicAuth } from '../src/management/basicAuth.js';
import { type Backend, type BackendOptions, startBackend } from '../src/server.js';
import { AUTH, call, seed } from './helpers.js';

interface SseEvent {
  id: string;
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: event bodies are inspected field by field
  data: any;
}

/** An open `/events` stream that collects what it is sent, parsed, plus its comments. */
async function listen(backend: Backend, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const res = await fetch(`${backend.url}/events`, {
    headers: { Authorization: AUTH, ...headers },
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let waiters: (() => void)[] = [];
  let ended = false;
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  const done = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else {
              const colon = line.indexOf(':');
              fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
            }
          }
          if (fields.data !== undefined)
            events.push({
              id: fields.id ?? '',
              event: fields.event ?? 'message',
              data: JSON.parse(fields.data),
            });
        }
        for (const wake of waiters.splice(0)) wake();
      }
    } catch {
      // aborted by the test
    }
    ended = true;
    for (const wake of waiters.splice(0)) wake();
  })();
  const until = async (ok: () => boolean) => {
    while (!ok()) {
      if (ended) throw new Error(`stream ended; got ${events.map((e) => e.event).join(', ')}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return {
    events,
    comments,
    until,
    /** Waits for at least `n` events. */
    take: async (n: number) => {
      await until(() => events.length >= n);
      return events.slice(0, n);
    },
    close: async () => {
      abort.abort();
      await done;
      waiters = [];
    },
    ended: () => done,
  };
}

const backends: Backend[] = [];
async function start(
  options: BackendOptions = {},
  overrides: Partial<BackendConfigInput> = {},
): Promise<Backend> {
  const config = parseConfig({ port: 0, host: '127.0.0.1', logLevel: 'silent', ...overrides });
  const backend = await startBackend(config, {
    logger: createLogger({ level: 'silent' }),
    amqpConnectTimeoutMs: 1500,
    ...options,
  });
  backends.push(backend);
  return backend;
}

afterEach(async () => {
  for (const backend of backends.splice(0)) await backend.close();
});

const seqOf = (id: string) => Number(id.split('.')[1]);

describe('/events', () => {
  it('streams the domain events in the order they happened, with increasing ids', async () => {
    const backend = await start();
    const stream = await listen(backend);
    const { setId } = await seed(backend, ['ev-1', 'ev-2']);
    const assigned = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
      [{ id: 'ev-1' }, { id: 'ev-2' }],
    );
    expect(assigned.status).toBe(200);
    const events = await stream.take(7);
    // One assignment's targets are written at once: each target's events keep their order, the
    // two targets' may interleave.
    const of = (id: string) => events.filter((e) => e.data.controllerId === id).map((e) => e.event);
    expect(of('ev-1')).toEqual(['TARGET_CREATED', 'ACTION_CREATED', 'TARGET_UPDATED']);
    expect(of('ev-2')).toEqual(['TARGET_CREATED', 'ACTION_CREATED', 'TARGET_UPDATED']);
    expect(events.slice(0, 2).map((e) => e.event)).toEqual(['TARGET_CREATED', 'TARGET_CREATED']);
    expect(events[6]?.event).toBe('UPDATE_ASSIGNMENT');
    const seqs = events.map((e) => seqOf(e.id));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(events[0]?.data).toMatchObject({
      type: 'TARGET_CREATED',
      controllerId: 'ev-1',
      updateStatus: 'UNKNOWN',
      tenant: 'DEFAULT',
    });
    // The stream is no place for devices' credentials.
    const assignment = events[6]?.data;
    expect(assignment.targets).toHaveLength(2);
    for (const target of assignment.targets) expect(target).not.toHaveProperty('securityToken');
    await stream.close();
  });

  it('resumes after Last-Event-ID with exactly what was missed, and says reset for an unknown id', async () => {
    const backend = await start();
    const first = await listen(backend);
    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 're-1' }]);
    const [seen] = await first.take(1);
    await first.close();
    // Missed while disconnected.
    await call(backend, 'POST', '/rest/v1/targets', [
      { controllerId: 're-2' },
      { controllerId: 're-3' },
    ]);
    const again = await listen(backend, { 'Last-Event-ID': seen?.id ?? '' });
    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 're-4' }]);
    const events = await again.take(3);
    expect(events.map((e) => e.data.controllerId)).toEqual(['re-2', 're-3', 're-4']);
    expect(events.map((e) => seqOf(e.id))).toEqual(
      [2, 3, 4].map((n) => n + seqOf(seen?.id ?? '') - 1),
    );
    await again.close();

    // An id of another backend's life (a restart) cannot be resumed from: the client reloads.
    const stranger = await listen(backend, { 'Last-Event-ID': 'elsewhere.3' });
    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 're-5' }]);
    const [reset, next] = await stranger.take(2);
    expect(reset?.event).toBe('reset');
    expect(reset?.data).toEqual({ tenant: 'DEFAULT' });
    expect(next?.data.controllerId).toBe('re-5');
    await stranger.close();
  });

  it('says reset when the ring has dropped what the client missed', async () => {
    const backend = await start({ events: { capacity: 3 } });
    const first = await listen(backend);
    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'old-1' }]);
    const [seen] = await first.take(1);
    await first.close();
    await call(
      backend,
      'POST',
      '/rest/v1/targets',
      [1, 2, 3, 4].map((n) => ({ controllerId: `old-${n + 1}` })),
    );
    const again = await listen(backend, { 'Last-Event-ID': seen?.id ?? '' });
    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'new-1' }]);
    const [reset, next] = await again.take(2);
    expect(reset?.event).toBe('reset');
    expect(next?.data.controllerId).toBe('new-1');
    await again.close();
  });

  it('refuses a wrong password as the Management API does, and sends nothing', async () => {
    const backend = await start();
    const wrong = `Basic ${Buffer.from('admin:nope').toString('base64')}`;
    const refused = await fetch(`${backend.url}/events`, { headers: { Authorization: wrong } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Basic realm="hawkBit"');
    expect(await refused.json()).toMatchObject({
      status: 401,
      error: 'Unauthorized',
      path: '/events',
    });
    const none = await fetch(`${backend.url}/events`);
    expect(none.status).toBe(401);
    // A page with its own login form asks as a script, and gets no browser dialog.
    const script = await fetch(`${backend.url}/events`, {
      headers: { Authorization: wrong, 'X-Requested-With': 'XMLHttpRequest' },
    });
    expect(script.status).toBe(401);
    expect(script.headers.get('www-authenticate')).toBeNull();
    const post = await fetch(`${backend.url}/events`, {
      method: 'POST',
      headers: { Authorization: AUTH },
    });
    expect(post.status).toBe(405);
  });

  it("counts wrong passwords with the Management API's throttle: one login, one allowance", async () => {
    const backend = await start({}, { mgmtAuthFailures: 2 });
    const wrong = `Basic ${Buffer.from('admin:nope').toString('base64')}`;
    for (let i = 0; i < 2; i++)
      expect(
        (await fetch(`${backend.url}/events`, { headers: { Authorization: wrong } })).status,
      ).toBe(401);
    const api = await fetch(`${backend.url}/rest/v1/userinfo`, {
      headers: { Authorization: AUTH },
    });
    expect(api.status).toBe(429);
    const events = await fetch(`${backend.url}/events`, { headers: { Authorization: AUTH } });
    expect(events.status).toBe(429);
    expect(events.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('loses nothing across many reconnects while events keep coming', async () => {
    const backend = await start();
    const total = 60;
    const writer = (async () => {
      for (let i = 0; i < total; i++)
        await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: `burst-${i}` }]);
    })();
    // A reset names this backend's epoch; `<epoch>.0` then asks for everything from the first event.
    const probe = await listen(backend, { 'Last-Event-ID': 'unknown' });
    const [reset] = await probe.take(1);
    await probe.close();
    expect(reset?.event).toBe('reset');
    let last = `${reset?.id.split('.')[0]}.0`;
    const seen: string[] = [];
    // Drop the connection after every few events and resume from the last id seen.
    while (seen.length < total) {
      const stream = await listen(backend, { 'Last-Event-ID': last });
      const got = await stream.take(Math.min(7, total - seen.length));
      await stream.close();
      for (const event of got) seen.push(event.data.controllerId);
      last = got.at(-1)?.id ?? last;
    }
    await writer;
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => `burst-${i}`));
  });

  it('sends a heartbeat comment while nothing happens', async () => {
    const backend = await start({ events: { heartbeatMs: 50 } });
    const stream = await listen(backend);
    await stream.until(() => stream.comments.includes('heartbeat'));
    expect(stream.events).toEqual([]);
    await stream.close();
  });

  it('ends every stream on close', async () => {
    const backend = await start();
    const stream = await listen(backend);
    await backend.close();
    await stream.ended();
    const after = await fetch(`${backend.url}/events`, { headers: { Authorization: AUTH } }).catch(
      (error: unknown) => error,
    );
    expect(after).toBeInstanceOf(Error);
  });
});

describe('a client that does not read', () => {
  let server: http.Server | undefined;
  let stream: EventStream | undefined;
  afterEach(async () => {
    stream?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('holds a bounded amount for it and is closed once it lags too far', async () => {
    const listeners = new Set<(event: DomainEvent) => void>();
    stream = createEventStream({
      service: {
        onEvent: (listener) => {
          listeners.add(listener as (event: DomainEvent) => void);
          return () => listeners.delete(listener as (event: DomainEvent) => void);
        },
      },
      authenticate: createBasicAuth({ user: 'admin', password: 'admin' }),
      tenant: 'DEFAULT',
      maxPending: 500,
    });
    const responses: http.ServerResponse[] = [];
    server = http.createServer((req, res) => {
      responses.push(res);
      void stream?.handle(req, res);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n\r\n`);
    socket.pause();
    while (stream.clients === 0) await new Promise((resolve) => setImmediate(resolve));
    const res = responses[0];

    const big = 'x'.repeat(1000);
    let sent = 0;
    let mostBuffered = 0;
    // Far more than the socket buffers hold: 40 MB of events, until the client is dropped.
    while (stream.clients > 0 && sent < 40_000) {
      for (let i = 0; i < 100; i++, sent++) {
        for (const listener of listeners)
          listener({
            type: 'TARGET_CREATED',
            controllerId: `${big}-${sent}`,
            updateStatus: 'UNKNOWN',
            timestamp: sent,
          });
      }
      mostBuffered = Math.max(mostBuffered, res?.writableLength ?? 0);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(stream.clients).toBe(0);
    expect(res?.destroyed).toBe(true);
    // What the process held for it: the stream's high-water mark and one event past it.
    expect(mostBuffered).toBeLessThan(64 * 1024);
    expect(sent).toBeLessThan(40_000);
    socket.destroy();
  });
});
