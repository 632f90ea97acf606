import { createHash } from 'node:crypto';
import { createReadStream as openReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ArtifactHashes, SoftwareModule } from '@otaflow/core';
import type { ArtifactSource as DdiArtifactSource } from '@otaflow/ddi-http';
import { BackendError } from './BackendError.js';
import type { BlobStore, StagedBlob } from './BlobStore.js';
import { FileBlobStore } from './FileBlobStore.js';

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
  /** Makes the bytes durable under (moduleId, filename); the catalogue entry comes after. */
  commit(moduleId: number, filename: string): Promise<void>;
  discard(): Promise<void>;
}

/** Size, hashes and time of a stored file (the shape @otaflow/ddi-http's `ArtifactSource.stat` returns). */
export interface ArtifactInfo {
  size: number;
  hashes: ArtifactHashes;
  lastModified?: number;
}

/** Where artifact metadata is read: core's catalogue (an `UpdateStore` or `UpdateService`). */
export interface ArtifactCatalogue {
  getSoftwareModule(id: number): Promise<SoftwareModule | undefined>;
}

/** The longest name a file system takes (ext4, XFS, APFS, NTFS: 255 bytes), with some room spare. */
const MAX_STORED_NAME = 255 - '.json'.length;

/**
 * The file name of an artifact on disk: `f-<percent-encoded filename>`, readable in a listing,
 * while it fits; `h-<sha256 of the filename>` for longer names (a 250-character name, or 90
 * non-ASCII characters, no longer fits once encoded). The catalogue keeps the real name.
 */
export function storedNameOf(filename: string): string {
  const encoded = `f-${encodeURIComponent(filename)}`;
  if (encoded.length <= MAX_STORED_NAME) return encoded;
  return `h-${createHash('sha256').update(filename, 'utf8').digest('hex')}`;
}

/** The blob key of an artifact: `modules/<moduleId>/<stored name>`. */
export const blobKeyOf = (moduleId: number, filename: string) =>
  `modules/${moduleId}/${storedNameOf(filename)}`;

export interface ArtifactStoreOptions {
  /**
   * Core's catalogue, the one source of truth for what artifacts exist and their size and
   * hashes: a blob is served only while its module lists it. Without one (unit tests of the
   * endpoints), the store remembers what it committed itself, in memory.
   */
  catalogue?: ArtifactCatalogue;
  /** Bytes elsewhere than the directory (S3-compatible storage later). */
  blobs?: BlobStore;
}

/**
 * Artifacts: bytes in a `BlobStore` under `modules/<moduleId>/<stored name>` (`storedNameOf`),
 * metadata in core's catalogue (the software module's `artifacts`), nowhere else. Uploads stream
 * through one pass that computes sha1, md5 and sha256 while writing, so a 1 GiB file never sits
 * in memory. The bytes are durable before the catalogue entry commits (the upload endpoint
 * commits the blob, then adds the artifact); a crash in between leaves an orphan blob, and
 * `sweep()` at start removes it with any half-written upload.
 */
export class ArtifactStore implements ArtifactSource, DdiArtifactSource {
  readonly directory: string;
  readonly blobs: BlobStore;
  readonly #owned: boolean;
  readonly #catalogue: ArtifactCatalogue | undefined;
  /** Standalone mode only: what this store committed. */
  readonly #committed = new Map<string, ArtifactInfo>();

  private constructor(
    directory: string,
    owned: boolean,
    blobs: BlobStore,
    catalogue: ArtifactCatalogue | undefined,
  ) {
    this.directory = directory;
    this.#owned = owned;
    this.blobs = blobs;
    this.#catalogue = catalogue;
  }

  /** Opens `directory` (created if missing), or a fresh temporary directory removed by `close()`. */
  static async open(
    directory?: string,
    options: ArtifactStoreOptions = {},
  ): Promise<ArtifactStore> {
    const dir = directory ?? (await mkdtemp(join(tmpdir(), 'otaflow-artifacts-')));
    const blobs = options.blobs ?? (await FileBlobStore.open(dir));
    return new ArtifactStore(dir, directory === undefined, blobs, options.catalogue);
  }

  /**
   * Removes half-written uploads and blobs no catalogue entry names (a crash between a blob's
   * commit and its catalogue entry, or between an artifact's deletion and its blob's). Run at
   * start, before the first upload. Returns how many of each went.
   */
  async sweep(): Promise<{ staged: number; orphans: number }> {
    const staged = await this.blobs.sweepStaged();
    let orphans = 0;
    if (!this.#catalogue) return { staged, orphans };
    const wanted = new Map<string, Set<string> | undefined>();
    for await (const key of this.blobs.keys()) {
      // Only what this store writes is its to judge: a directory shared with anything else (a
      // data directory holding a database, say) must lose none of that.
      if (!key.startsWith('modules/')) continue;
      const match = /^modules\/(\d+)\/([^/]+)$/.exec(key);
      let keep = false;
      if (match) {
        const moduleId = match[1] as string;
        if (!wanted.has(moduleId)) {
          const module = await this.#catalogue.getSoftwareModule(Number(moduleId));
          wanted.set(
            moduleId,
            module && new Set(module.artifacts.map((a) => storedNameOf(a.filename))),
          );
        }
        keep = wanted.get(moduleId)?.has(match[2] as string) ?? false;
      }
      if (!keep && (await this.blobs.delete(key))) orphans++;
    }
    return { staged, orphans };
  }

  async stage(
    source: Readable | AsyncIterable<Buffer>,
    options: { maxBytes?: number } = {},
  ): Promise<StagedArtifact> {
    const blob: StagedBlob = await this.blobs.stage(source, options);
    return {
      size: blob.size,
      hashes: blob.hashes,
      commit: async (moduleId, filename) => {
        await blob.commit(blobKeyOf(moduleId, filename));
        if (!this.#catalogue)
          this.#committed.set(blobKeyOf(moduleId, filename), {
            size: blob.size,
            hashes: blob.hashes,
            lastModified: Date.now(),
          });
      },
      discard: () => blob.discard(),
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

  /** @otaflow/ddi-http's `ArtifactSource.stat`: from the catalogue, not the disk. */
  async stat(moduleId: number, filename: string): Promise<ArtifactInfo | undefined> {
    if (!this.#catalogue) return this.#committed.get(blobKeyOf(moduleId, filename));
    const module = await this.#catalogue.getSoftwareModule(moduleId);
    const artifact = module?.artifacts.find((a) => a.filename === filename);
    if (!artifact) return undefined;
    return { size: artifact.size, hashes: artifact.hashes, lastModified: artifact.createdAt };
  }

  /** @otaflow/ddi-http's `ArtifactSource.createReadStream`: the whole file or an inclusive range. */
  async createReadStream(
    moduleId: number,
    filename: string,
    range?: { start: number; end: number },
  ): Promise<Readable> {
    const stream = await this.blobs.read(blobKeyOf(moduleId, filename), range ?? {});
    if (!stream)
      throw new BackendError('ARTIFACT_NOT_FOUND', `no artifact ${filename} in module ${moduleId}`);
    return stream;
  }

  async lookup(moduleId: number, filename: string): Promise<ArtifactEntry | undefined> {
    const info = await this.stat(moduleId, filename);
    if (!info) return undefined;
    const key = blobKeyOf(moduleId, filename);
    // A synchronous stream needs a path; lookup is the file store's convenience.
    if (!(this.blobs instanceof FileBlobStore))
      throw new BackendError('STORAGE', 'lookup needs a file blob store');
    const path = join(this.directory, key);
    return {
      size: info.size,
      hashes: info.hashes,
      createReadStream: (start?: number, end?: number) => {
        const range: { start?: number; end?: number } = {};
        if (start !== undefined) range.start = start;
        if (end !== undefined) range.end = end;
        return openReadStream(path, range);
      },
    };
  }

  /** Removes the bytes; the catalogue entry goes first (`UpdateService.deleteArtifact`). */
  async delete(moduleId: number, filename: string): Promise<boolean> {
    this.#committed.delete(blobKeyOf(moduleId, filename));
    return this.blobs.delete(blobKeyOf(moduleId, filename));
  }

  /** Removes the directory if this store created it; a given directory is kept. */
  async close(): Promise<void> {
    if (this.#owned) await rm(this.directory, { recursive: true, force: true });
  }
}
