import type http from 'node:http';

/** Where a body read ends: exactly one of these is called, once. */
export interface BodySink {
  body(body: Buffer): void;
  /** Declared or grown over the limit; the rest of the request is left unread, paused. */
  tooLarge(limit: number): void;
  failed(error: Error): void;
}

/**
 * Reads a whole request body of at most `limit` bytes. Callbacks rather than a promise: the
 * receiver answers a redelivery without allocating one. A declared Content-Length over the limit
 * is refused before any byte is read.
 */
export function readBody(req: http.IncomingMessage, limit: number, sink: BodySink): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    sink.tooLarge(limit);
    return;
  }
  let first: Buffer | undefined;
  let rest: Buffer[] | undefined;
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > limit) {
      over = true;
      req.pause();
      sink.tooLarge(limit);
      return;
    }
    if (first === undefined) first = chunk;
    else if (rest === undefined) rest = [first, chunk];
    else rest.push(chunk);
  });
  req.on('end', () => {
    if (over) return;
    over = true;
    sink.body(rest ? Buffer.concat(rest) : (first ?? Buffer.alloc(0)));
  });
  req.on('error', (error) => {
    if (over) return;
    over = true;
    sink.failed(error);
  });
}
