import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IotHubError } from './IotHubError.js';
import type { HashAlgorithm, SoftwareArtifactAction } from './softwareUpdatable.js';

const NODE_HASH: Record<HashAlgorithm, string> = { SHA1: 'sha1', MD5: 'md5', SHA256: 'sha256' };

export interface DownloadedArtifact {
  filename: string;
  path: string;
  size: number;
}

export interface DownloadOptions {
  directory: string;
  signal?: AbortSignal | undefined;
  /** Bytes so far and the expected total; called as chunks arrive. */
  onProgress?: ((received: number, total: number) => void) | undefined;
  fetch?: typeof fetch | undefined;
  /**
   * Tries of one download before it fails (default 4). A network error, a broken body, 408, 429 or
   * a 5xx is tried again after a doubling pause, resuming with `Range` where the server allows it.
   */
  attempts?: number | undefined;
  /** The first pause between tries (default 1000 ms), doubling up to 15 s. */
  retryDelayMs?: number | undefined;
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** A failure worth another try: the server or the network, not the artifact. */
class Transient extends Error {}

/** HTTPS first, then HTTP; FTP/SFTP are not fetched by this agent. */
export function artifactUrl(artifact: SoftwareArtifactAction): string | undefined {
  return artifact.download.HTTPS?.url ?? artifact.download.HTTP?.url;
}

function hashers(artifact: SoftwareArtifactAction) {
  return (Object.keys(artifact.checksums) as HashAlgorithm[]).map((algorithm) => ({
    algorithm,
    expected: (artifact.checksums[algorithm] ?? '').toLowerCase(),
    hash: createHash(NODE_HASH[algorithm]),
  }));
}

function checkHashes(
  artifact: SoftwareArtifactAction,
  list: ReturnType<typeof hashers>,
  size: number,
): void {
  if (size !== artifact.size) {
    throw new IotHubError(
      'HASH_MISMATCH',
      `${artifact.filename}: size ${size}, expected ${artifact.size}`,
    );
  }
  for (const h of list) {
    const actual = h.hash.digest('hex');
    if (actual !== h.expected) {
      throw new IotHubError(
        'HASH_MISMATCH',
        `${artifact.filename}: ${h.algorithm} ${actual}, expected ${h.expected}`,
      );
    }
  }
}

/** A file already on disk with the right size and hashes (after a restart) is not fetched again. */
async function alreadyThere(artifact: SoftwareArtifactAction, path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (info.size !== artifact.size) return false;
    const list = hashers(artifact);
    for await (const chunk of createReadStream(path))
      for (const h of list) h.hash.update(chunk as Buffer);
    checkHashes(artifact, list, info.size);
    return true;
  } catch {
    return false;
  }
}

/** Streams one artifact to disk, checking size and every checksum the command gave. */
export async function downloadArtifact(
  artifact: SoftwareArtifactAction,
  options: DownloadOptions,
): Promise<DownloadedArtifact> {
  const url = artifactUrl(artifact);
  if (!url)
    throw new IotHubError('DOWNLOAD_FAILED', `${artifact.filename}: no HTTP(S) download link`);
  if (Object.keys(artifact.checksums).length === 0) {
    throw new IotHubError('DOWNLOAD_FAILED', `${artifact.filename}: no checksum to verify`);
  }
  if (/[/\\]|^\.\.?$/.test(artifact.filename)) {
    throw new IotHubError('DOWNLOAD_FAILED', `unsafe artifact file name ${artifact.filename}`);
  }
  await mkdir(options.directory, { recursive: true });
  const path = join(options.directory, artifact.filename);
  if (await alreadyThere(artifact, path)) {
    options.onProgress?.(artifact.size, artifact.size);
    return { filename: artifact.filename, path, size: artifact.size };
  }
  const doFetch = options.fetch ?? fetch;
  const attempts = Math.max(1, options.attempts ?? 4);
  let pause = options.retryDelayMs ?? 1000;
  const list = hashers(artifact);
  const progress = { received: 0 };
  for (let attempt = 1; ; attempt++) {
    try {
      await fetchInto(artifact, path, list, progress, doFetch, url, options);
      break;
    } catch (error) {
      if (options.signal?.aborted) {
        await rm(path, { force: true });
        throw new IotHubError('CANCELED', 'download canceled');
      }
      if (!(error instanceof Transient) || attempt >= attempts) {
        await rm(path, { force: true });
        throw new IotHubError(
          'DOWNLOAD_FAILED',
          `${artifact.filename}: ${(error as Error).message}`,
        );
      }
      await sleep(pause, options.signal);
      pause = Math.min(pause * 2, 15_000);
      // Resume only from bytes that are both on disk and hashed; anything else starts over.
      const onDisk = await stat(path).then(
        (i) => i.size,
        () => 0,
      );
      if (onDisk !== progress.received) {
        progress.received = 0;
        list.splice(0, list.length, ...hashers(artifact));
      }
    }
  }
  const received = progress.received;
  try {
    checkHashes(artifact, list, received);
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  return { filename: artifact.filename, path, size: received };
}

/**
 * One try: from byte `from` on, appending to what earlier tries wrote and hashed. A server that
 * ignores `Range` answers 200, so the file and the hashes start over.
 */
async function fetchInto(
  artifact: SoftwareArtifactAction,
  path: string,
  list: ReturnType<typeof hashers>,
  progress: { received: number },
  doFetch: typeof fetch,
  url: string,
  options: DownloadOptions,
): Promise<void> {
  const from = progress.received;
  let response: Response;
  try {
    response = await doFetch(url, {
      signal: options.signal ?? null,
      ...(from > 0 ? { headers: { range: `bytes=${from}-` } } : {}),
    });
  } catch (error) {
    throw new Transient((error as Error).message);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    const problem = `HTTP ${response.status}`;
    throw RETRY_STATUSES.has(response.status) ? new Transient(problem) : new Error(problem);
  }
  if (from > 0 && response.status !== 206) {
    progress.received = 0;
    list.splice(0, list.length, ...hashers(artifact));
  }
  // Each chunk is counted and hashed only once it is written: when the connection breaks, what is
  // on disk is exactly what `received` says, so the next try resumes with Range. Counting on
  // 'data' while a write stream lagged behind made a loaded machine start over instead.
  const file = await open(path, progress.received > 0 ? 'a' : 'w');
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      for (let done = 0; done < chunk.length; )
        done += (await file.write(chunk, done, chunk.length - done)).bytesWritten;
      progress.received += chunk.length;
      for (const h of list) h.hash.update(chunk);
      options.onProgress?.(progress.received, artifact.size);
    }
  } catch (error) {
    throw new Transient((error as Error).message);
  } finally {
    await file.close();
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
