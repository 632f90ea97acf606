import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
}

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
  let response: Response;
  try {
    response = await doFetch(url, { signal: options.signal ?? null });
  } catch (error) {
    if (options.signal?.aborted) throw new IotHubError('CANCELED', 'download canceled');
    throw new IotHubError('DOWNLOAD_FAILED', `${artifact.filename}: ${(error as Error).message}`);
  }
  if (!response.ok || !response.body) {
    throw new IotHubError('DOWNLOAD_FAILED', `${artifact.filename}: HTTP ${response.status}`);
  }
  const list = hashers(artifact);
  let received = 0;
  const body = Readable.fromWeb(
    response.body as import('node:stream/web').ReadableStream<Uint8Array>,
  );
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    for (const h of list) h.hash.update(chunk);
    options.onProgress?.(received, artifact.size);
  });
  try {
    await pipeline(body, createWriteStream(path), {
      signal: options.signal ?? new AbortController().signal,
    });
  } catch (error) {
    await rm(path, { force: true });
    if (options.signal?.aborted) throw new IotHubError('CANCELED', 'download canceled');
    throw new IotHubError('DOWNLOAD_FAILED', `${artifact.filename}: ${(error as Error).message}`);
  }
  try {
    checkHashes(artifact, list, received);
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  return { filename: artifact.filename, path, size: received };
}
