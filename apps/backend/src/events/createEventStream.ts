import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DomainEvent, UpdateService } from '@otaflow/core';
import { sendEmpty, sendJson, springError } from '@otaflow/ddi-http';
import type { HttpHandler } from '../http.js';
import type { BasicAuth } from '../management/basicAuth.js';
import { problemOf } from '../management/Problem.js';
import { EventLog } from './EventLog.js';
import { publicEvent, sseFrame } from './eventFrames.js';
import { SseClient } from './SseClient.js';

export const EVENTS_PATH = '/events';

export interface EventStreamOptions {
  service: Pick<UpdateService, 'onEvent'>;
  /**
   * The Management API's Basic auth: the stream answers to the same users. Unset when the
   * caller authenticated the request already (the backend, which picks the tenant's stream).
   */
  authenticate?: BasicAuth;
  /** The stream's tenant, sent with every event. */
  tenant: string;
  /** Events kept for clients that reconnect with `Last-Event-ID` (default 10,000). */
  capacity?: number;
  /** Events a client may lag behind before it is closed (default 1,000). */
  maxPending?: number;
  /** A comment this often keeps proxies and the socket timeout from ending an idle stream. */
  heartbeatMs?: number;
}

export interface EventStream extends HttpHandler {
  /** Clients connected now. */
  readonly clients: number;
  /** Ends every stream and stops listening; later requests are answered 503. */
  close(): void;
}

/**
 * The backend's domain events as Server-Sent Events at `/events`, for the console. Every event is
 * serialized once into a ring of the last `capacity`; a client is a position in that ring. A
 * client whose socket does not take what it is sent (write returned false) gets nothing more until
 * it drains, and once it lags `maxPending` events behind it is closed: it reconnects with its
 * `Last-Event-ID` and resumes from the ring, or hears `reset` when the ring has moved past it.
 */
export function createEventStream(options: EventStreamOptions): EventStream {
  const log = new EventLog(options.capacity ?? 10_000);
  const maxPending = Math.min(options.maxPending ?? 1000, log.capacity);
  // Ids name this backend's life too: after a restart, an id from before says nothing.
  const epoch = randomBytes(6).toString('base64url');
  const idOf = (seq: number) => `${epoch}.${seq}`;
  const clients = new Set<SseClient>();
  let closed = false;

  const detach = options.service.onEvent((event: DomainEvent) => {
    const data = { tenant: options.tenant, ...publicEvent(event) };
    log.append((seq) => sseFrame(idOf(seq), event.type, data));
    for (const client of clients) client.pump();
  });
  const heartbeat = setInterval(() => {
    for (const client of clients) client.beat();
  }, options.heartbeatMs ?? 15_000);
  heartbeat.unref();

  const open = (req: IncomingMessage, res: ServerResponse) => {
    const last = parseId(req.headers['last-event-id'], epoch);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx would otherwise hold events back until its buffer fills.
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    let from = log.newest;
    if (last !== undefined && last >= log.oldest - 1 && last <= log.newest) from = last;
    else if (req.headers['last-event-id'] !== undefined)
      res.write(sseFrame(idOf(log.newest), 'reset', { tenant: options.tenant }));
    const client = new SseClient(res, log, from, maxPending, () => clients.delete(client));
    clients.add(client);
    res.once('close', () => clients.delete(client));
    client.pump();
  };

  return {
    get clients() {
      return clients.size;
    },
    async handle(req, res) {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== EVENTS_PATH) return false;
      try {
        await options.authenticate?.(req);
      } catch (error) {
        const problem = problemOf(error);
        if (!problem) throw error;
        sendJson(res, problem.status, springError(problem.status, EVENTS_PATH), {
          headers: problem.headers,
        });
        return true;
      }
      if (req.method !== 'GET') sendEmpty(res, 405, { Allow: 'GET' });
      else if (closed) sendJson(res, 503, springError(503, EVENTS_PATH));
      else open(req, res);
      return true;
    },
    close() {
      if (closed) return;
      closed = true;
      detach();
      clearInterval(heartbeat);
      for (const client of [...clients]) client.end(false);
    },
  };
}

/** The position a `Last-Event-ID` of this backend names; undefined for another's or garbage. */
function parseId(header: string | string[] | undefined, epoch: string): number | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^([A-Za-z0-9_-]+)\.(\d{1,15})$/.exec(header.trim());
  if (!match || match[1] !== epoch) return undefined;
  return Number(match[2]);
}
