import { pbkdf2 } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { FileBlobStore } from '../src/FileBlobStore.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('FileBlobStore staging', () => {
  it('leaves no part file when the source fails at once, before the file is open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otaflow-blob-'));
    dirs.push(dir);
    const store = await FileBlobStore.open(dir);
    // libuv's threads busy (as on a loaded server), so the file's open comes late.
    const busy = Array.from(
      { length: 8 },
      () => new Promise((resolve) => pbkdf2('x', 'salt', 200_000, 64, 'sha512', resolve)),
    );
    for (let i = 0; i < 20; i++) {
      // Already failed when staging starts: the pipeline fails in the same tick.
      const failing = new Readable({ read() {} });
      failing.destroy(new Error('client went away'));
      await expect(store.stage(failing)).rejects.toMatchObject({ code: 'STORAGE' });
    }
    await Promise.all(busy);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });
});
