import http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '@otaflow/core';
import { springError } from '@otaflow/ddi-http';
import type { BackendConfig } from './config.js';

/** The limits that keep one server usable when clients are slow, idle or too many. */
export type HttpLimits = Pick<
  BackendConfig,
  | 'httpHeadersTimeoutMs'
  | 'httpRequestTimeoutMs'
  | 'httpBodyTimeoutMs'
  | 'httpIdleTimeoutMs'
  | 'httpMaxConnections'
>;

/** At most one "connection limit reached" line per this many ms, with the count dropped since. */
const DROP_LOG_INTERVAL_MS = 10_000;

type Exchange = { req: http.IncomingMessage; res: http.ServerResponse };

/** Requests under way, and who waits for there to be none (a drain). */
interface Drain {
  active: number;
  draining: boolean;
  idle: (() => void) | undefined;
}
const drains = new WeakMap<http.Server, Drain>();

/** Node's parser errors worth their own status; everything else it cannot parse is 400. */
function statusOf(error: NodeJS.ErrnoException): number | undefined {
  switch (error.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    default:
      return 400;
  }
}

/** An answer written straight to the socket, for when no ServerResponse may speak any more. */
function rawAnswer(status: number, path: string): string {
  const body = JSON.stringify(springError(status, path));
  return (
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\n` +
    'Connection: close\r\nContent-Type: application/json;charset=UTF-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

function pathOf(req: http.IncomingMessage | undefined): string {
  const url = req?.url ?? '/';
  const end = url.indexOf('?');
  return end < 0 ? url : url.slice(0, end);
}

/**
 * A node:http server with every timeout set and a connection cap, so that idle or slow clients
 * cannot hold the descriptors real devices need:
 * - headers must be in within `httpHeadersTimeoutMs` (a connection that sends nothing is closed
 *   then too), a whole request within `httpRequestTimeoutMs`: both answer 408;
 * - a connection silent for `httpBodyTimeoutMs` while its body is awaited answers 408, while its
 *   answer is being sent (the client stopped reading) it is closed;
 * - a keep-alive connection without a request is closed after `httpIdleTimeoutMs`;
 * - beyond `httpMaxConnections` new connections are closed at once, and that is logged.
 */
export function createHttpServer(
  limits: HttpLimits,
  logger: Logger,
  listener: http.RequestListener,
): http.Server {
  // Node refuses a headers timeout above the request timeout; the request timeout bounds both.
  const headersTimeout = Math.min(limits.httpHeadersTimeoutMs, limits.httpRequestTimeoutMs);
  const exchanges = new WeakMap<Socket, Exchange>();
  const drain: Drain = { active: 0, draining: false, idle: undefined };
  const server = http.createServer(
    {
      headersTimeout,
      requestTimeout: limits.httpRequestTimeoutMs,
      keepAliveTimeout: limits.httpIdleTimeoutMs,
      // Node looks for expired headers and requests this often; its default (30 s) would make a
      // short timeout up to 30 s late.
      connectionsCheckingInterval: Math.min(1000, Math.max(25, Math.floor(headersTimeout / 4))),
    },
    (req, res) => {
      const exchange = { req, res };
      exchanges.set(req.socket, exchange);
      drain.active++;
      // A kept-alive connection (a proxy's) is served to the end, then closed: the proxy opens
      // its next one to another backend.
      if (drain.draining) res.setHeader('Connection', 'close');
      // Node turns the inactivity timeout off on a kept-alive connection's later requests.
      req.socket.setTimeout(limits.httpBodyTimeoutMs);
      res.once('close', () => {
        if (exchanges.get(req.socket) === exchange) exchanges.delete(req.socket);
        if (--drain.active === 0) drain.idle?.();
      });
      listener(req, res);
    },
  );
  drains.set(server, drain);
  server.timeout = limits.httpBodyTimeoutMs;
  server.maxConnections = limits.httpMaxConnections;

  server.on('timeout', (socket: Socket) => {
    const exchange = exchanges.get(socket);
    if (exchange && !exchange.res.headersSent && exchange.req.complete) return; // our own work
    if (exchange && !exchange.res.headersSent && socket.writable)
      socket.write(rawAnswer(408, pathOf(exchange.req)));
    socket.destroy();
  });

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const exchange = exchanges.get(socket);
    const status = statusOf(error);
    // As node:http does on its own: answer only when nothing of a response has been written.
    if (status !== undefined && socket.writable && !exchange?.res.headersSent)
      socket.write(rawAnswer(status, pathOf(exchange?.req)));
    socket.destroy();
  });

  let dropped = 0;
  let loggedAt = Number.NEGATIVE_INFINITY;
  server.on('drop', (data) => {
    dropped++;
    const now = Date.now();
    if (now - loggedAt < DROP_LOG_INTERVAL_MS) return;
    logger.warn(
      { maxConnections: server.maxConnections, dropped, remoteAddress: data?.remoteAddress },
      'connection limit reached: new connections are closed (--http-max-connections)',
    );
    loggedAt = now;
    dropped = 0;
  });
  return server;
}

/**
 * Stops taking connections and waits, up to `timeoutMs`, for the requests under way to be
 * answered; idle kept-alive connections are closed at once, busy ones after their answer.
 * Resolves to the number of requests still running when the time ran out (0: all done). The
 * caller closes what is left (`closeAllConnections`).
 */
export function drainHttpServer(server: http.Server, timeoutMs: number): Promise<number> {
  const drain = drains.get(server);
  if (!drain) throw new Error('not a server of createHttpServer');
  drain.draining = true;
  server.close();
  server.closeIdleConnections();
  if (drain.active === 0) return Promise.resolve(0);
  return new Promise<number>((resolve) => {
    const timer = setTimeout(() => {
      drain.idle = undefined;
      resolve(drain.active);
    }, timeoutMs);
    drain.idle = () => {
      clearTimeout(timer);
      drain.idle = undefined;
      // Connections that went idle since the first sweep.
      server.closeIdleConnections();
      resolve(0);
    };
  });
}
