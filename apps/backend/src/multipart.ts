import { type Readable, Transform, type TransformCallback } from 'node:stream';
import busboy from 'busboy';
import { BackendError } from './BackendError.js';

export interface MultipartFilePart {
  name: string;
  filename: string;
  contentType?: string;
}

export interface MultipartHandlers {
  onField(name: string, value: string): void;
  /** Must consume `body` to its end (or fail); the reader waits for the returned promise. */
  onFile(part: MultipartFilePart, body: Readable): Promise<void>;
}

export interface MultipartLimits {
  /** Largest file part, whichever; past it the part's stream, and the form, fail with `UPLOAD_TOO_LARGE`. */
  maxFileBytes?: number;
  /** Largest text field (default 64 KiB). */
  maxFieldBytes?: number;
  /** Most parts, fields and files together (default 32). */
  maxParts?: number;
}

/** The boundary of a `multipart/form-data` content type, or undefined when it is something else. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

const bad = (message: string) => new BackendError('BAD_MULTIPART', message);

const MAX_PADDING = 64;

/**
 * RFC 2046 lets a sender pad a boundary line with spaces and tabs ("transport padding"); busboy
 * does not expect any and would drop the part that follows, so the padding is taken out first.
 * A leading CRLF lets the first boundary, which has none, match the same delimiter.
 */
class TransportPaddingFilter extends Transform {
  readonly #delimiter: Buffer;
  readonly #keep: number;
  #tail: Buffer = Buffer.from('\r\n');

  constructor(boundary: string) {
    super();
    this.#delimiter = Buffer.from(`\r\n--${boundary}`);
    this.#keep = this.#delimiter.length + MAX_PADDING + 2;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.#tail = this.#pass(Buffer.concat([this.#tail, chunk]), false);
    callback();
  }

  override _flush(callback: TransformCallback) {
    this.#pass(this.#tail, true);
    callback();
  }

  /** Pushes what can no longer be part of an unseen padded boundary line; returns the rest. */
  #pass(data: Buffer, last: boolean): Buffer {
    const safe = last ? data.length : data.length - this.#keep;
    let from = 0;
    for (let at = data.indexOf(this.#delimiter); at !== -1 && at < safe; ) {
      const end = at + this.#delimiter.length;
      let pad = end;
      while (
        pad < data.length &&
        pad - end < MAX_PADDING &&
        (data[pad] === 0x20 || data[pad] === 0x09)
      )
        pad++;
      if (pad > end && data[pad] === 0x0d && data[pad + 1] === 0x0a) {
        this.push(data.subarray(from, end));
        from = pad;
      }
      at = data.indexOf(this.#delimiter, end);
    }
    const cut = Math.max(from, safe);
    if (cut > from) this.push(data.subarray(from, cut));
    return data.subarray(cut);
  }
}

/**
 * Reads a `multipart/form-data` body (RFC 7578) with `busboy`: fields are handed on whole, file
 * parts as streams with backpressure, so the body never sits in memory. Any limit broken, or a
 * body that is not well-formed, rejects with a `BackendError` (`BAD_MULTIPART`, or
 * `UPLOAD_TOO_LARGE` for a file part past `maxFileBytes`) and stops reading the source; it
 * rejects only once every `onFile` handler has settled.
 */
export function readMultipart(
  source: Readable,
  contentType: string,
  handlers: MultipartHandlers,
  limits: MultipartLimits = {},
): Promise<void> {
  const maxField = limits.maxFieldBytes ?? 64 * 1024;
  const maxParts = limits.maxParts ?? 32;
  const maxFile = limits.maxFileBytes ?? Number.POSITIVE_INFINITY;
  return new Promise<void>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { 'content-type': contentType },
        defParamCharset: 'utf8',
        // busboy signals a limit when it is reached, not passed: one more byte or part, so
        // that exactly the limit is allowed.
        limits: {
          fieldSize: maxField,
          parts: maxParts + 1,
          fileSize: maxFile + 1,
          headerPairs: 64,
        },
      });
    } catch (error) {
      reject(bad((error as Error).message));
      return;
    }
    const filter = new TransportPaddingFilter(boundaryOf(contentType) ?? '');
    const files: Promise<void>[] = [];
    let fields = 0;
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      source.unpipe(filter);
      filter.unpipe(parser);
      // What the client still sends is drained, so that the error answer reaches it.
      source.resume();
      // Destroying the parser destroys the part being read, so every handler settles; the
      // rejection waits for them, so that a refusal is answered only once what they wrote
      // (a staged file) is gone or handed back, never while it is still being written.
      parser.destroy();
      void Promise.allSettled(files).then(() => reject(error));
    };
    parser.on('field', (name, value, info) => {
      if (failed) return;
      if (info.valueTruncated) fail(bad(`form field ${name} is longer than ${maxField} bytes`));
      else {
        fields++;
        handlers.onField(name, value);
      }
    });
    parser.on('file', (name, stream, info) => {
      if (failed) {
        stream.resume();
        return;
      }
      let streamError: Error | undefined;
      // The whole form fails, whoever reads the part: busboy counts a file part done only at its
      // 'end', which a destroyed part never emits, so a part past the limit that a handler merely
      // drains (a second `file`) would otherwise leave busboy waiting, and the request unanswered.
      stream.once('limit', () => {
        const error = new BackendError('UPLOAD_TOO_LARGE', `file part exceeds ${maxFile} bytes`);
        streamError = error;
        stream.destroy(error);
        // Not at once: busboy still marks the part truncated after emitting 'limit', and
        // destroying the parser now would take the part from under it.
        process.nextTick(fail, error);
      });
      stream.on('error', (error) => {
        streamError ??= error;
      });
      const part: MultipartFilePart = { name, filename: info.filename ?? '' };
      if (info.mimeType) part.contentType = info.mimeType;
      files.push(
        handlers.onFile(part, stream).catch((error: unknown) => {
          stream.resume();
          // The part's own failure says more than what the handler made of it.
          if (streamError instanceof BackendError) fail(streamError);
          else if (streamError) fail(bad(streamError.message));
          else fail(error);
        }),
      );
    });
    parser.on('partsLimit', () => fail(bad(`more than ${maxParts} parts`)));
    parser.on('error', (error: Error) => fail(bad(error.message)));
    parser.on('close', () => {
      void Promise.all(files).then(() => {
        // busboy skips parts that are not form-data silently; a form of nothing else is broken.
        if (fields + files.length === 0) fail(bad('no form-data part in the body'));
        if (!failed) resolve();
      });
    });
    const stop = (error: Error) => fail(bad(`request failed: ${error.message}`));
    source.on('error', stop);
    filter.on('error', stop);
    source.pipe(filter).pipe(parser);
  });
}
