import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, createReadStream as openReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactHashes } from '@otaflow/core';
import { BackendError } from './BackendError.js';
import type { BlobStore, StagedBlob } from './BlobStore.js';

const STAGING = 'tmp';

/**
 * Blobs as files: `<directory>/<key>`, staged in `<directory>/tmp/`. A commit fsyncs the file,
 * renames it into place and fsyncs the directory, so once it resolves the bytes survive a crash
 * of the process or of the machine; a crash before that leaves only a file in `tmp/`, which
 * `sweepStaged` removes at the next start. Keys are relative paths made by the caller
 * (`modules/12/f-app.bin`); one holding `..` or starting at `tmp` is refused.
 */
export class FileBlobStore implements BlobStore {
  readonly directory: string;

  private constructor(directory: string) {
    this.directory = directory;
  }

  get location(): string {
    return this.directory;
  }

  static async open(directory: string): Promise<FileBlobStore> {
    await mkdir(join(directory, STAGING), { recursive: true });
    return new FileBlobStore(directory);
  }

  #path(key: string): string {
    const parts = key.split('/');
    if (
      parts.length === 0 ||
      parts[0] === STAGING ||
      parts.some((p) => p === '' || p === '.' || p === '..' || p.includes(sep))
    )
      throw new BackendError('STORAGE', `not a blob key: ${JSON.stringify(key)}`);
    return join(this.directory, ...parts);
  }

  async stage(
    source: Readable | AsyncIterable<Buffer>,
    options: { maxBytes?: number } = {},
  ): Promise<StagedBlob> {
    const tmp = join(this.directory, STAGING, `${randomUUID()}.part`);
    const hasher = new HashingCounter(options.maxBytes ?? Number.POSITIVE_INFINITY);
    const out = createWriteStream(tmp);
    try {
      await pipeline(source, hasher, out);
    } catch (error) {
      // A source that fails at once fails before the file is even open: the open still
      // completes and creates it, after an early `rm`. Remove it once the stream has closed.
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      await rm(tmp, { force: true });
      if (error instanceof BackendError) throw error;
      throw new BackendError('STORAGE', `artifact upload failed: ${(error as Error).message}`);
    }
    const size = hasher.size;
    const hashes = hasher.digests();
    let done = false;
    return {
      size,
      hashes,
      commit: async (key) => {
        if (done) throw new BackendError('STORAGE', 'staged blob already committed or discarded');
        done = true;
        const target = this.#path(key);
        try {
          await fsync(tmp);
          await mkdir(dirname(target), { recursive: true });
          await rename(tmp, target);
          // The rename is only durable once the directory that now names the file is.
          await fsyncDirectory(dirname(target));
        } catch (error) {
          await rm(tmp, { force: true });
          throw new BackendError('STORAGE', `artifact commit failed: ${(error as Error).message}`);
        }
      },
      discard: async () => {
        done = true;
        await rm(tmp, { force: true });
      },
    };
  }

  async read(key: string, range: { start?: number; end?: number } = {}) {
    const path = this.#path(key);
    try {
      await stat(path);
    } catch {
      return undefined;
    }
    return openReadStream(path, range);
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.#path(key));
      return true;
    } catch {
      return false;
    }
  }

  async *keys(): AsyncIterable<string> {
    const entries = await readdir(this.directory, { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const key = relative(this.directory, join(entry.parentPath, entry.name)).split(sep).join('/');
      if (!key.startsWith(`${STAGING}/`)) yield key;
    }
  }

  async sweepStaged(): Promise<number> {
    const staged = await readdir(join(this.directory, STAGING));
    await Promise.all(
      staged.map((name) => rm(join(this.directory, STAGING, name), { force: true })),
    );
    return staged.length;
  }
}

async function fsync(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fsyncDirectory(path: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (error) {
    // Windows cannot open or sync a directory; its renames are durable without it.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  } finally {
    await handle?.close();
  }
}

/** Counts and hashes (sha1, md5, sha256) in one pass, refusing past `max` bytes. */
class HashingCounter extends Transform {
  readonly #sha1 = createHash('sha1');
  readonly #md5 = createHash('md5');
  readonly #sha256 = createHash('sha256');
  readonly #max: number;
  size = 0;

  constructor(max: number) {
    super();
    this.#max = max;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.#max) {
      callback(new BackendError('UPLOAD_TOO_LARGE', `artifact exceeds ${this.#max} bytes`));
      return;
    }
    this.#sha1.update(chunk);
    this.#md5.update(chunk);
    this.#sha256.update(chunk);
    callback(null, chunk);
  }

  digests(): ArtifactHashes {
    return {
      sha1: this.#sha1.digest('hex'),
      md5: this.#md5.digest('hex'),
      sha256: this.#sha256.digest('hex'),
    };
  }
}
