import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadArtifact, IotHubError, type SoftwareArtifactAction } from '../src/index.js';

const BYTES = Buffer.alloc(256 * 1024, 7).map((_, i) => i % 251);
const sha256 = createHash('sha256').update(BYTES).digest('hex');

let server: Server | undefined;
afterEach(
  () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
);

/** A real HTTP server whose answers the test scripts, one handler per request in order. */
async function serve(script: Array<(req: IncomingMessage, res: ServerResponse) => void>) {
  const seen: Array<string | undefined> = [];
  server = createServer((req, res) => {
    seen.push(req.headers.range);
    const step = script[Math.min(seen.length - 1, script.length - 1)] as (typeof script)[number];
    step(req, res);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const artifact = {
    filename: 'fw.bin',
    size: BYTES.length,
    checksums: { SHA256: sha256 },
    download: { HTTP: { url: `http://127.0.0.1:${port}/fw.bin` } },
  } as unknown as SoftwareArtifactAction;
  return { artifact, seen };
}

const whole = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-length': BYTES.length });
  res.end(BYTES);
};
const ranged = (req: IncomingMessage, res: ServerResponse) => {
  const from = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0);
  res.writeHead(206, {
    'content-length': BYTES.length - from,
    'content-range': `bytes ${from}-${BYTES.length - 1}/${BYTES.length}`,
  });
  res.end(BYTES.subarray(from));
};
/** Sends the first half, then breaks the connection. */
const cutHalfway = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-length': BYTES.length });
  res.write(BYTES.subarray(0, BYTES.length / 2), () => setTimeout(() => res.socket?.destroy(), 20));
};

describe('downloadArtifact', () => {
  it('tries again after a 503 and a broken connection, resuming with Range', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otaflow-dl-'));
    const { artifact, seen } = await serve([
      (_q, res) => res.writeHead(503).end(),
      cutHalfway,
      ranged,
    ]);
    const got = await downloadArtifact(artifact, { directory: dir, retryDelayMs: 10 });
    expect(got.size).toBe(BYTES.length);
    expect((await readFile(got.path)).equals(BYTES)).toBe(true);
    expect(seen[0]).toBeUndefined();
    expect(seen[1]).toBeUndefined();
    expect(seen[2]).toMatch(/^bytes=\d+-$/);
  });

  it('starts over when the server ignores Range', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otaflow-dl-'));
    const { artifact, seen } = await serve([cutHalfway, whole]);
    const got = await downloadArtifact(artifact, { directory: dir, retryDelayMs: 10 });
    expect((await readFile(got.path)).equals(BYTES)).toBe(true);
    expect(seen).toHaveLength(2);
  });

  it('gives up after its attempts, and never retries a 404', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otaflow-dl-'));
    const busy = await serve([(_q, res) => res.writeHead(503).end()]);
    await expect(
      downloadArtifact(busy.artifact, { directory: dir, retryDelayMs: 5, attempts: 3 }),
    ).rejects.toThrow(/HTTP 503/);
    expect(busy.seen).toHaveLength(3);
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    const gone = await serve([(_q, res) => res.writeHead(404).end()]);
    const error = await downloadArtifact(gone.artifact, { directory: dir, retryDelayMs: 5 }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(IotHubError);
    expect(error.code).toBe('DOWNLOAD_FAILED');
    expect(gone.seen).toHaveLength(1);
  });

  it('stops mid-body when canceled, and keeps no partial file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otaflow-dl-'));
    const stalled = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-length': BYTES.length });
      res.write(BYTES.subarray(0, BYTES.length / 2));
    };
    const { artifact } = await serve([stalled]);
    const abort = new AbortController();
    const error = await downloadArtifact(artifact, {
      directory: dir,
      signal: abort.signal,
      onProgress: (received) => {
        if (received > 0) abort.abort();
      },
    }).catch((e) => e);
    expect(error).toBeInstanceOf(IotHubError);
    expect(error.code).toBe('CANCELED');
    await expect(readFile(join(dir, artifact.filename))).rejects.toThrow(/ENOENT/);
    server?.closeAllConnections();
  });
});
