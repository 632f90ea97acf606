import type { Readable } from 'node:stream';

export interface ArtifactInfo {
  size: number;
  hashes: { sha1: string; md5: string; sha256?: string };
  /** Epoch ms, sent as Last-Modified and used for `If-Range` dates. */
  lastModified?: number;
}

/** Inclusive byte range, as in `Content-Range`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where an artifact's bytes live, addressed by software module id and file name. The DDI handler
 * knows an artifact from the core catalogue and asks the source only for its bytes.
 */
export interface ArtifactSource {
  /** Size and hashes of the stored bytes, or undefined when there is no such file. */
  stat(moduleId: number, filename: string): Promise<ArtifactInfo | undefined>;
  /** A stream of the whole file, or of `range` only. */
  createReadStream(moduleId: number, filename: string, range?: ByteRange): Promise<Readable>;
}
