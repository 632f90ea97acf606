import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, createReadStream as openReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtifactHashes } from '@otaflow/core';
import type { ArtifactSource as DdiArtifactSource } from '@otaflow/ddi-http';
import { z } from 'zod';
import { BackendError } from './BackendError.js';

/** One stored file: its size, its hashes and its bytes (`end` inclusive, as in HTTP ranges). */
export interface ArtifactEntry {
  size: number;
  hashes: ArtifactHashes;
  createReadStream(start?: number, end?: number): Readable;
}

/**
 * Lookup by (module, filename). The store also offers @otaflow/ddi-http's `ArtifactSource`
 * methods (`stat`, `createReadStream(moduleId, filename, range)`), so it plugs into its DDI server.
 */
export interface ArtifactSource {
  lookup(moduleId: number, filename: string): Promise<ArtifactEntry | undefined>;
}

/** An upload written to disk and hashed, not yet visible under any name. */
export interface StagedArtifact {
  size: number;
  hashes: ArtifactHashes;
  commit(moduleId: number, filename: string): Promise<void>;
  discard(): Promise<void>;
}

const Sidecar = z.object({
  filename: z.string(),
  size: z.number().int().nonnegative(),
  hashes: ArtifactHashes,
  storedAt: z.number().int().optional(),
});

/** Size, hashes and time of a stored file (the shape @otaflow/ddi-http's `ArtifactSource.stat` returns). */
export interface ArtifactInfo {
  size: number;
  hashes: ArtifactHashes;
  lastModified?: number;
}

/**
 * Artifacts on the file system: `<dir>/modules/<moduleId>/f-<encoded filename>` plus a JSON
 * sidecar with size and hashes. Uploads stream through one pass that computes sha1, md5 and
 * sha256 while writing, so a 1 GiB file never sits in memory.
 */
export class ArtifactStore implements ArtifactSource, DdiArtifactSource {
  readonly directory: string;
  readonly #owned: boolean;

  private constructor(directory: string, owned: boolean) {
    this.directory = directory;
    this.#owned = owned;
  }

  /** Opens `directory` (created if missing), or a fresh temporary directory removed by `close()`. */
  static async open(directory?: string): Promise<ArtifactStore> {
    const dir = directory ?? (await mkdtemp(join(tmpdir(), 'otaflow-artifacts-')));
    await mkdir(join(dir, 'tmp'), { recursive: true });
    await mkdir(join(dir, 'modules'), { recursive: true });
    return new ArtifactStore(dir, directory === undefined);
  }

  #paths(moduleId: number, filename: string) {
    const base = join(
      this.directory,
      'modules',
      String(moduleId),
      `f-${encodeURIComponent(filename)}`,
    );
    return { data: base, meta: `${base}.json` };
  }

  async stage(
    source: Readable | AsyncIterable<Buffer>,
    options: { maxBytes?: number } = {},
  ): Promise<StagedArtifact> {
    const tmp = join(this.directory, 'tmp', `${randomUUID()}.part`);
    const hasher = new HashingCounter(options.maxBytes ?? Number.POSITIVE_INFINITY);
    try {
      await pipeline(source, hasher, createWriteStream(tmp));
    } catch (error) {
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
      commit: async (moduleId, filename) => {
        if (done)
          throw new BackendError('STORAGE', 'staged artifact already committed or discarded');
        done = true;
        const paths = this.#paths(moduleId, filename);
        this.#metaCache.delete(paths.meta);
        await mkdir(join(this.directory, 'modules', String(moduleId)), { recursive: true });
        await rename(tmp, paths.data);
        await writeFile(
          paths.meta,
          JSON.stringify({ filename, size, hashes, storedAt: Date.now() }),
        );
      },
      discard: async () => {
        done = true;
        await rm(tmp, { force: true });
      },
    };
  }

  /** Stores a whole stream under (moduleId, filename), replacing a file of that name. */
  async put(
    moduleId: number,
    filename: string,
    source: Readable | AsyncIterable<Buffer>,
    options: { maxBytes?: number } = {},
  ) {
    const staged = await this.stage(source, options);
    await staged.commit(moduleId, filename);
    return { size: staged.size, hashes: staged.hashes };
  }

  /**
   * Sidecars read once and kept: every download asked for them twice (stat, then the stream), a
   * file read, a JSON parse and a stat each, about 4 % of the backend's CPU while 12,000 devices
   * downloaded one artifact. This store is the only writer, and commit/delete drop the entry.
   */
  readonly #metaCache = new Map<
    string,
    { meta: z.infer<typeof Sidecar>; paths: { data: string; meta: string } }
  >();

  async #meta(moduleId: number, filename: string) {
    const paths = this.#paths(moduleId, filename);
    const cached = this.#metaCache.get(paths.meta);
    if (cached) return cached;
    try {
      const meta = Sidecar.parse(JSON.parse(await readFile(paths.meta, 'utf8')));
      await stat(paths.data);
      const found = { meta, paths };
      this.#metaCache.set(paths.meta, found);
      return found;
    } catch {
      return undefined;
    }
  }

  /** @otaflow/ddi-http's `ArtifactSource.stat`. */
  async stat(moduleId: number, filename: string): Promise<ArtifactInfo | undefined> {
    const found = await this.#meta(moduleId, filename);
    if (!found) return undefined;
    const info: ArtifactInfo = { size: found.meta.size, hashes: found.meta.hashes };
    if (found.meta.storedAt !== undefined) info.lastModified = found.meta.storedAt;
    return info;
  }

  /** @otaflow/ddi-http's `ArtifactSource.createReadStream`: the whole file or an inclusive range. */
  async createReadStream(
    moduleId: number,
    filename: string,
    range?: { start: number; end: number },
  ): Promise<Readable> {
    const found = await this.#meta(moduleId, filename);
    if (!found)
      throw new BackendError('ARTIFACT_NOT_FOUND', `no artifact ${filename} in module ${moduleId}`);
    return openReadStream(found.paths.data, range ? { start: range.start, end: range.end } : {});
  }

  async lookup(moduleId: number, filename: string): Promise<ArtifactEntry | undefined> {
    const found = await this.#meta(moduleId, filename);
    if (!found) return undefined;
    const { meta, paths } = found;
    return {
      size: meta.size,
      hashes: meta.hashes,
      createReadStream: (start?: number, end?: number) => {
        const range: { start?: number; end?: number } = {};
        if (start !== undefined) range.start = start;
        if (end !== undefined) range.end = end;
        return openReadStream(paths.data, range);
      },
    };
  }

  async delete(moduleId: number, filename: string): Promise<boolean> {
    const paths = this.#paths(moduleId, filename);
    this.#metaCache.delete(paths.meta);
    try {
      await unlink(paths.meta);
    } catch {
      return false;
    }
    await rm(paths.data, { force: true });
    return true;
  }

  /** Removes the directory if this store created it; a given directory is kept. */
  async close(): Promise<void> {
    if (this.#owned) await rm(this.directory, { recursive: true, force: true });
  }
}

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
