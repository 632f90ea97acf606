import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { ArtifactSource, ByteRange } from '../ArtifactSource.js';
import { etagMatches } from './etagMatches.js';

/** What `serveArtifact` needs to know about the file; the bytes come from the source. */
export interface ServedArtifact {
  moduleId: number;
  filename: string;
  size: number;
  /** The SHA-1 (hex) is the ETag, as in hawkBit. */
  sha1: string;
  lastModified?: number;
}

export const MULTIPART_BOUNDARY = 'THIS_STRING_SEPARATES_MULTIPART';
const RANGE_SYNTAX = /^bytes=\s*\d*-\d*(\s*,\s*\d*-\d*)*\s*$/;
const TSPECIALS = /[()<>@,;:\\"/[\]?={} \t]/;

export type RangeParse =
  | { kind: 'full' }
  | { kind: 'ranges'; ranges: ByteRange[] }
  | { kind: 'unsatisfiable' };

/**
 * Parses a `Range` header against a file length, as hawkBit does: sorted ranges, an overlap or an
 * empty or out-of-file range is unsatisfiable; a suffix longer than the file is clamped to it.
 */
export function parseRange(header: string | undefined, length: number): RangeParse {
  if (header === undefined) return { kind: 'full' };
  if (!RANGE_SYNTAX.test(header)) return { kind: 'unsatisfiable' };
  const ranges: ByteRange[] = [];
  for (const spec of header.replace(/^bytes=/, '').split(',')) {
    const [a = '', b = ''] = spec.trim().split('-');
    let start: number;
    let end: number;
    if (a === '' && b === '') return { kind: 'unsatisfiable' };
    if (a === '') {
      const suffix = Number(b);
      if (suffix === 0) return { kind: 'unsatisfiable' };
      start = Math.max(0, length - suffix);
      end = length - 1;
    } else {
      start = Number(a);
      end = b === '' ? length - 1 : Math.min(Number(b), length - 1);
    }
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      start > end ||
      start >= length
    ) {
      return { kind: 'unsatisfiable' };
    }
    ranges.push({ start, end });
  }
  ranges.sort((x, y) => x.start - y.start);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]!.start <= ranges[i - 1]!.end) return { kind: 'unsatisfiable' };
  }
  return { kind: 'ranges', ranges };
}

function contentDisposition(filename: string): string {
  const name = filename.length > 78 ? filename.slice(0, 78) : filename;
  // Header values must stay Latin-1; anything else goes in the RFC 5987 form.
  if (/[^\x20-\x7e]/.test(name)) return `attachment;filename*=UTF-8''${encodeURIComponent(name)}`;
  return TSPECIALS.test(name)
    ? `attachment;filename="${name.replace(/["\\]/g, '\\$&')}"`
    : `attachment;filename=${name}`;
}

/** `If-Range` holds for the current ETag or for a date no older than Last-Modified. */
function ifRangeHolds(
  header: string | undefined,
  etag: string,
  lastModified: number | undefined,
): boolean {
  if (header === undefined) return true;
  const value = header.trim();
  if (value === etag) return true;
  if (value.startsWith('"') || value.startsWith('W/')) return false;
  const date = Date.parse(value);
  if (Number.isNaN(date) || lastModified === undefined) return false;
  return date >= Math.floor(lastModified / 1000) * 1000;
}

/**
 * Serves one artifact with hawkBit's download semantics: HEAD, `If-Match` (412), `Range` with one
 * range (206) or several (206 multipart/byteranges), 416 with `Content-Range: bytes *\/len`, and
 * `If-Range`. A read error after the headers went out destroys the connection, so the client sees
 * a cut download (and may resume) rather than a silently short file.
 */
export async function serveArtifact(
  req: IncomingMessage,
  res: ServerResponse,
  artifact: ServedArtifact,
  source: ArtifactSource,
): Promise<void> {
  const etag = `"${artifact.sha1}"`;
  const length = artifact.size;
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  if (artifact.lastModified !== undefined)
    res.setHeader('Last-Modified', new Date(artifact.lastModified).toUTCString());
  res.setHeader('Content-Disposition', contentDisposition(artifact.filename));
  res.setHeader('X-Content-Type-Options', 'nosniff');

  const ifMatch = req.headers['if-match'] as string | undefined;
  if (ifMatch !== undefined && !etagMatches(ifMatch, etag)) {
    res.statusCode = 412;
    res.setHeader('Content-Length', 0);
    res.end();
    return;
  }
  if (req.method === 'HEAD') {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', length);
    res.end();
    return;
  }
  const rangeHeader = ifRangeHolds(
    req.headers['if-range'] as string | undefined,
    etag,
    artifact.lastModified,
  )
    ? req.headers.range
    : undefined;
  const parsed = parseRange(rangeHeader, length);
  if (parsed.kind === 'unsatisfiable') {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${length}`);
    res.setHeader('Content-Length', 0);
    res.end();
    return;
  }
  if (parsed.kind === 'full') {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', length);
    if (length === 0) {
      res.end();
      return;
    }
    await pump(await source.createReadStream(artifact.moduleId, artifact.filename), res, true);
    return;
  }
  const { ranges } = parsed;
  res.statusCode = 206;
  if (ranges.length === 1) {
    const r = ranges[0]!;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Range', `bytes ${r.start}-${r.end}/${length}`);
    res.setHeader('Content-Length', r.end - r.start + 1);
    await pump(await source.createReadStream(artifact.moduleId, artifact.filename, r), res, true);
    return;
  }
  const heads = ranges.map(
    (r, i) =>
      `${i === 0 ? '' : '\r\n'}--${MULTIPART_BOUNDARY}\r\nContent-Type: application/octet-stream\r\n` +
      `Content-Range: bytes ${r.start}-${r.end}/${length}\r\n\r\n`,
  );
  const tail = `\r\n--${MULTIPART_BOUNDARY}--`;
  const total = heads.reduce(
    (n, h, i) => n + Buffer.byteLength(h) + ranges[i]!.end - ranges[i]!.start + 1,
    tail.length,
  );
  res.setHeader('Content-Type', `multipart/byteranges; boundary=${MULTIPART_BOUNDARY}`);
  res.setHeader('Content-Length', total);
  for (let i = 0; i < ranges.length; i++) {
    if (!res.write(heads[i]!)) await new Promise((r) => res.once('drain', r));
    const ok = await pump(
      await source.createReadStream(artifact.moduleId, artifact.filename, ranges[i]),
      res,
      false,
    );
    if (!ok) return;
  }
  res.end(tail);
}

async function pump(
  input: NodeJS.ReadableStream,
  res: ServerResponse,
  end: boolean,
): Promise<boolean> {
  try {
    await pipeline(input, res, { end });
    return true;
  } catch {
    res.destroy();
    return false;
  }
}
