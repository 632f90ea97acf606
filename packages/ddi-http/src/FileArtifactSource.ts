import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactInfo, ArtifactSource, ByteRange } from './ArtifactSource.js';
import { DdiError } from './DdiError.js';

/** A name that stays inside its module directory: no separators, no dot names, no NUL. */
export function isSafeArtifactName(filename: string): boolean {
  return (
    filename.length > 0 &&
    filename.length <= 255 &&
    filename !== '.' &&
    filename !== '..' &&
    !/[/\\\0]/.test(filename)
  );
}

/**
 * Artifacts as files: `<root>/<moduleId>/<filename>`. Hashes are computed on first use and kept
 * while the file's size and mtime stay the same.
 */
export class FileArtifactSource implements ArtifactSource {
  readonly root: string;
  readonly #hashes = new Map<string, { key: string; info: ArtifactInfo }>();

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The file's path, or undefined when the name would leave the store. */
  pathOf(moduleId: number, filename: string): string | undefined {
    if (!Number.isSafeInteger(moduleId) || moduleId < 0 || !isSafeArtifactName(filename))
      return undefined;
    const path = join(this.root, String(moduleId), filename);
    return path.startsWith(this.root + sep) ? path : undefined;
  }

  async stat(moduleId: number, filename: string): Promise<ArtifactInfo | undefined> {
    const path = this.pathOf(moduleId, filename);
    if (!path) return undefined;
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(path);
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    const key = `${st.size}:${st.mtimeMs}`;
    const cached = this.#hashes.get(path);
    if (cached?.key === key) return cached.info;
    const sha1 = createHash('sha1');
    const md5 = createHash('md5');
    const sha256 = createHash('sha256');
    for await (const chunk of createReadStream(path)) {
      sha1.update(chunk as Buffer);
      md5.update(chunk as Buffer);
      sha256.update(chunk as Buffer);
    }
    const info: ArtifactInfo = {
      size: st.size,
      hashes: { sha1: sha1.digest('hex'), md5: md5.digest('hex'), sha256: sha256.digest('hex') },
      lastModified: Math.floor(st.mtimeMs),
    };
    this.#hashes.set(path, { key, info });
    return info;
  }

  async createReadStream(moduleId: number, filename: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(moduleId, filename);
    if (!path)
      throw new DdiError(
        'INVALID_ARTIFACT_NAME',
        `artifact name ${JSON.stringify(filename)} is not allowed`,
      );
    // Large reads: artifacts are big and sequential, 1 MiB chunks cut per-chunk overhead.
    const highWaterMark = 1024 * 1024;
    return createReadStream(
      path,
      range ? { start: range.start, end: range.end, highWaterMark } : { highWaterMark },
    );
  }

  /** Stores bytes (written to a temp file first, then renamed) and returns their size and hashes. */
  async write(
    moduleId: number,
    filename: string,
    data: Uint8Array | Readable,
  ): Promise<ArtifactInfo> {
    const path = this.pathOf(moduleId, filename);
    if (!path)
      throw new DdiError(
        'INVALID_ARTIFACT_NAME',
        `artifact name ${JSON.stringify(filename)} is not allowed`,
      );
    await mkdir(join(this.root, String(moduleId)), { recursive: true });
    const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
    const input = data instanceof Uint8Array ? Readable.from([data]) : data;
    await pipeline(
      input,
      new Transform({ transform: (c, _e, cb) => cb(null, c) }),
      createWriteStream(temp),
    );
    await rename(temp, path);
    const info = await this.stat(moduleId, filename);
    if (!info)
      throw new DdiError('INVALID_ARTIFACT_NAME', `artifact ${filename} vanished after writing`);
    return info;
  }
}
