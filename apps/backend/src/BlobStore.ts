import type { Readable } from 'node:stream';
import type { ArtifactHashes } from '@otaflow/core';

/**
 * Bytes under keys, nothing else: what a blob is for (module, filename, size, hashes) is the
 * database's business. A directory today (`FileBlobStore`); S3-compatible storage can implement
 * the same five methods (staging = a multipart upload to a temporary key, commit = copy or
 * complete under the final key).
 */
export interface BlobStore {
  /** Where the bytes live, for the ready line and the docs (never carries credentials). */
  readonly location: string;
  /**
   * Receives a whole stream into a temporary blob, hashing it on the way. Nothing is visible
   * under any key until `commit`; when `commit` resolves, the bytes are durable.
   */
  stage(
    source: Readable | AsyncIterable<Buffer>,
    options?: { maxBytes?: number },
  ): Promise<StagedBlob>;
  /** The bytes of `key` (`end` inclusive, as in HTTP ranges); undefined when there is none. */
  read(key: string, range?: { start?: number; end?: number }): Promise<Readable | undefined>;
  /** Removes `key`; false when there was nothing. */
  delete(key: string): Promise<boolean>;
  /** Every committed key (for the sweep of orphans at start). */
  keys(): AsyncIterable<string>;
  /** Forgets staged blobs a crash left behind. Call at start, before any upload. */
  sweepStaged(): Promise<number>;
}

export interface StagedBlob {
  readonly size: number;
  readonly hashes: ArtifactHashes;
  /** Makes the bytes durable and visible under `key` (replacing what was there). */
  commit(key: string): Promise<void>;
  discard(): Promise<void>;
}
