import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { BackendError } from './BackendError.js';

export interface MultipartFilePart {
  name: string;
  filename: string;
  contentType?: string;
}

export interface MultipartHandlers {
  onField(name: string, value: string): void;
  /** Must consume `body` to its end; the parser waits for the returned promise. */
  onFile(part: MultipartFilePart, body: Readable): Promise<void>;
}

export interface MultipartLimits {
  maxHeaderBytes?: number;
  maxFieldBytes?: number;
  maxParts?: number;
}

/** The boundary of a `multipart/form-data` content type, or undefined when it is something else. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

type Part =
  | { kind: 'field'; name: string; chunks: Buffer[]; size: number }
  | { kind: 'file'; stream: PassThrough; done: Promise<void>; failed: { error?: unknown } };

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

const bad = (message: string) => new BackendError('BAD_MULTIPART', message);

/**
 * A streaming multipart/form-data reader (RFC 7578). File parts are handed on as streams with
 * backpressure, so the request is never held in memory: only a delimiter's length of look-behind
 * is kept between chunks.
 */
export async function readMultipart(
  source: AsyncIterable<Buffer>,
  boundary: string,
  handlers: MultipartHandlers,
  limits: MultipartLimits = {},
): Promise<void> {
  const maxHeader = limits.maxHeaderBytes ?? 16 * 1024;
  const maxField = limits.maxFieldBytes ?? 64 * 1024;
  const maxParts = limits.maxParts ?? 32;
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // A leading CRLF lets the first boundary (which has none) match the same delimiter.
  let buffer: Buffer = Buffer.from(CRLF);
  let state: 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'epilogue' = 'preamble';
  let part: Part | undefined;
  let parts = 0;

  const emit = async (data: Buffer) => {
    if (!part || data.length === 0) return;
    if (part.kind === 'field') {
      part.size += data.length;
      if (part.size > maxField)
        throw bad(`form field ${part.name} is longer than ${maxField} bytes`);
      part.chunks.push(Buffer.from(data));
      return;
    }
    if (part.failed.error) throw part.failed.error;
    if (!part.stream.write(data)) {
      await Promise.race([once(part.stream, 'drain'), part.done]);
      if (part.failed.error) throw part.failed.error;
    }
  };

  const endPart = async () => {
    if (!part) return;
    const current = part;
    part = undefined;
    if (current.kind === 'field') {
      handlers.onField(current.name, Buffer.concat(current.chunks).toString('utf8'));
      return;
    }
    current.stream.end();
    await current.done;
  };

  const startPart = (headerBlock: string) => {
    if (++parts > maxParts) throw bad(`more than ${maxParts} parts`);
    const headers = new Map<string, string>();
    for (const line of headerBlock.split('\r\n')) {
      if (line === '') continue;
      const colon = line.indexOf(':');
      if (colon <= 0) throw bad(`malformed part header: ${line.slice(0, 80)}`);
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const disposition = headers.get('content-disposition');
    if (!disposition || !/^form-data\b/i.test(disposition))
      throw bad('part without Content-Disposition: form-data');
    const name = dispositionParam(disposition, 'name');
    if (name === undefined) throw bad('part without a name');
    const filename =
      dispositionParam(disposition, 'filename*') ?? dispositionParam(disposition, 'filename');
    if (filename === undefined) {
      part = { kind: 'field', name, chunks: [], size: 0 };
      return;
    }
    const stream = new PassThrough({ highWaterMark: 256 * 1024 });
    const failed: { error?: unknown } = {};
    const info: MultipartFilePart = { name, filename };
    const contentType = headers.get('content-type');
    if (contentType) info.contentType = contentType;
    const done = handlers.onFile(info, stream).catch((error: unknown) => {
      failed.error = error;
      stream.destroy();
      throw error;
    });
    // Observed through `failed`; this keeps an early rejection from counting as unhandled.
    done.catch(() => {});
    part = { kind: 'file', stream, done, failed };
  };

  const drive = async () => {
    for (;;) {
      if (state === 'epilogue') {
        buffer = Buffer.alloc(0);
        return;
      }
      if (state === 'preamble' || state === 'body') {
        const index = buffer.indexOf(delimiter);
        if (index === -1) {
          const keep = delimiter.length - 1;
          if (buffer.length > keep) {
            if (state === 'body') await emit(buffer.subarray(0, buffer.length - keep));
            buffer = buffer.subarray(buffer.length - keep);
          }
          return;
        }
        if (state === 'body') {
          await emit(buffer.subarray(0, index));
          await endPart();
        }
        buffer = buffer.subarray(index + delimiter.length);
        state = 'afterDelimiter';
        continue;
      }
      if (state === 'afterDelimiter') {
        if (buffer.length < 2) return;
        if (buffer[0] === 0x2d && buffer[1] === 0x2d) {
          state = 'epilogue';
          continue;
        }
        // RFC 2046 allows linear white space before the CRLF that ends a boundary line.
        let skip = 0;
        while (skip < buffer.length && (buffer[skip] === 0x20 || buffer[skip] === 0x09)) skip++;
        if (buffer.length < skip + 2) return;
        if (buffer[skip] !== 0x0d || buffer[skip + 1] !== 0x0a)
          throw bad('malformed boundary line');
        buffer = buffer.subarray(skip + 2);
        state = 'headers';
        continue;
      }
      // headers
      if (buffer.length >= 2 && buffer[0] === 0x0d && buffer[1] === 0x0a) {
        buffer = buffer.subarray(2);
        startPart('');
        state = 'body';
        continue;
      }
      const end = buffer.indexOf(HEADER_END);
      if (end === -1) {
        if (buffer.length > maxHeader) throw bad(`part headers longer than ${maxHeader} bytes`);
        return;
      }
      if (end > maxHeader) throw bad(`part headers longer than ${maxHeader} bytes`);
      startPart(buffer.subarray(0, end).toString('utf8'));
      buffer = buffer.subarray(end + HEADER_END.length);
      state = 'body';
    }
  };

  try {
    for await (const chunk of source) {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      await drive();
    }
    // `state` changes inside `drive`, which the compiler cannot see from here.
    if ((state as string) !== 'epilogue')
      throw bad('multipart body ended before its closing boundary');
  } catch (error) {
    if (part?.kind === 'file') {
      part.stream.destroy(error instanceof Error ? error : new Error(String(error)));
      await part.done.catch(() => {});
    }
    throw error;
  }
}

function dispositionParam(header: string, key: string): string | undefined {
  const escaped = key.replace(/[*]/g, '\\*');
  const pattern = new RegExp(`;\\s*${escaped}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, 'i');
  const match = pattern.exec(header);
  if (!match) return undefined;
  if (match[1] !== undefined) return match[1].replace(/\\(.)/g, '$1');
  const raw = (match[2] ?? '').trim();
  if (key.endsWith('*')) {
    // RFC 5987: charset'language'percent-encoded
    const ext = /^([^']*)'[^']*'(.*)$/.exec(raw);
    if (!ext) return undefined;
    try {
      return decodeURIComponent(ext[2] ?? '');
    } catch {
      return undefined;
    }
  }
  return raw;
}
