import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../src/ArtifactStore.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('the artifact sweep at start', () => {
  it('removes orphan blobs of its own and nothing else in a shared directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otaflow-sweep-'));
    dirs.push(dir);
    // A database's files beside the blobs (a data directory given as the artifacts directory).
    await mkdir(join(dir, 'pglite', 'base'), { recursive: true });
    await writeFile(join(dir, 'pglite', 'base', '2701'), 'not ours');
    await mkdir(join(dir, 'modules', '7'), { recursive: true });
    await writeFile(join(dir, 'modules', '7', 'orphan.bin'), 'no module names it');
    const store = await ArtifactStore.open(dir, {
      catalogue: { getSoftwareModule: async () => undefined },
    });
    expect(await store.sweep()).toEqual({ staged: 0, orphans: 1 });
    expect(await readFile(join(dir, 'pglite', 'base', '2701'), 'utf8')).toBe('not ours');
  });
});
