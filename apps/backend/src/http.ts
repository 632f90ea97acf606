import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';

/** What every mountable part of the server is: it answers a request or says it is not its own. */
export interface HttpHandler {
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': `${contentType};charset=UTF-8`,
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(
  res: ServerResponse,
  status: number,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'Content-Length': '0', ...headers });
  res.end();
}

/** Spring Boot's error body, which hawkBit answers for 401, 405, 406, 415 and unmapped paths. */
export function bootError(status: number) {
  return { timestamp: new Date().toISOString(), status, error: STATUS_CODES[status] ?? 'Error' };
}

/** Reads a whole (small) body; more than `max` bytes rejects with `'too-large'`. */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new Error('too-large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The request's own base URL (`http://host:port`), used for absolute links when none is configured. */
export function requestBase(req: IncomingMessage, configured?: string): string {
  if (configured) return configured.replace(/\/+$/, '');
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const host =
    req.headers.host ?? `${req.socket.localAddress ?? '127.0.0.1'}:${req.socket.localPort ?? 80}`;
  return `${encrypted ? 'https' : 'http'}://${host}`;
}
