import type { IncomingMessage } from 'node:http';
import { DdiError } from '../DdiError.js';

/** A body being read: kept on the request so the listeners below need no closure per request. */
interface BodyRead {
  first: Buffer | undefined;
  more: Buffer[] | undefined;
  size: number;
  limit: number;
  resolve: (body: Buffer) => void;
  reject: (error: Error) => void;
}
const BODY_READ = Symbol('otaflow.bodyRead');
type ReadingRequest = IncomingMessage & { [BODY_READ]?: BodyRead | undefined };
const EMPTY = Buffer.alloc(0);

function stopReading(req: ReadingRequest): BodyRead {
  const read = req[BODY_READ]!;
  req[BODY_READ] = undefined;
  req.off('data', onData);
  req.off('end', onEnd);
  req.off('error', onError);
  req.off('close', onClose);
  return read;
}

function tooLarge(limit: number): DdiError {
  return new DdiError('BODY_TOO_LARGE', `request body exceeds ${limit} bytes`, 413);
}

function onData(this: ReadingRequest, chunk: Buffer): void {
  const read = this[BODY_READ]!;
  read.size += chunk.length;
  if (read.size > read.limit) {
    stopReading(this);
    // No more is buffered; the caller's 413 (with Connection: close) ends the exchange.
    this.pause();
    read.reject(tooLarge(read.limit));
  } else if (read.first === undefined) read.first = chunk;
  else if (read.more) read.more.push(chunk);
  else read.more = [read.first, chunk];
}

function onEnd(this: ReadingRequest): void {
  const read = stopReading(this);
  read.resolve(read.more ? Buffer.concat(read.more, read.size) : (read.first ?? EMPTY));
}

function onError(this: ReadingRequest, error: Error): void {
  stopReading(this).reject(
    new DdiError('BODY_ABORTED', `request body failed: ${error.message}`, undefined, error),
  );
}

/** A body cut off without an error still settles. */
function onClose(this: ReadingRequest): void {
  stopReading(this).reject(new DdiError('BODY_ABORTED', 'request closed before its body ended'));
}

/**
 * The whole request body. Past `limit` bytes it stops reading and rejects with
 * `BODY_TOO_LARGE` (status 413), which the caller answers; a client that goes away first gives
 * `BODY_ABORTED`. A declared Content-Length above the limit is refused before reading anything.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  // Usually the whole body came with the headers and waits in the stream's buffer already.
  if (req.complete && !req.readableFlowing && req.readableLength <= limit)
    return Promise.resolve((req.read() as Buffer | null) ?? EMPTY);
  if (req.readableEnded) return Promise.resolve(EMPTY);
  return new Promise((resolve, reject) => {
    (req as ReadingRequest)[BODY_READ] = {
      first: undefined,
      more: undefined,
      size: 0,
      limit,
      resolve,
      reject,
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
