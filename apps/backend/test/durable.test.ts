import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { silentLogger } from '@otaflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore, blobKeyOf } from '../src/ArtifactStore.js';
import { parseConfig } from '../src/config.js';
import { FileBlobStore } from '../src/FileBlobStore.js';
import {
  defaultCacheDir,
  defaultDataDir,
  openBackendStore,
  templateName,
} from '../src/openBackendStore.js';
import { startBackend } from '../src/server.js';
import { AUTH, call } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'otaflow-durable-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('FileBlobStore', () => {
  it('shows nothing until commit, then the bytes under the key; a failed stream leaves nothing', async () => {
    const dir = join(root, 'blobs-1');
    const blobs = await FileBlobStore.open(dir);
    const staged = await blobs.stage(Readable.from([Buffer.from('hello '), Buffer.from('blob')]));
    expect(staged.size).toBe(10);
    expect(await blobs.read('modules/1/f-a.bin')).toBeUndefined();
    expect(await filesUnder(dir)).toHaveLength(1);
    await staged.commit('modules/1/f-a.bin');
    const stream = await blobs.read('modules/1/f-a.bin', { start: 6 });
    expect(Buffer.concat(await stream!.toArray()).toString()).toBe('blob');
    expect(await filesUnder(dir)).toEqual([join('modules', '1', 'f-a.bin')]);

    const failing = Readable.from(
      (async function* () {
        yield Buffer.from('part');
        throw new Error('client went away');
      })(),
    );
    await expect(blobs.stage(failing)).rejects.toThrow(/upload failed/);
    await expect(blobs.stage(Readable.from([Buffer.alloc(20)]), { maxBytes: 10 })).rejects.toThrow(
      /exceeds/,
    );
    expect(await filesUnder(dir)).toEqual([join('modules', '1', 'f-a.bin')]);
  });

  it('refuses keys that leave its directory or name its staging area', async () => {
    const blobs = await FileBlobStore.open(join(root, 'blobs-2'));
    const staged = await blobs.stage(Readable.from([Buffer.from('x')]));
    for (const key of ['../escape', 'modules/../../x', 'tmp/x', '', 'a//b'])
      await expect(blobs.read(key), key).rejects.toThrow(/not a blob key/);
    await expect(staged.commit('../x')).rejects.toThrow(/not a blob key|commit failed/);
  });
});

describe('ArtifactStore over the catalogue', () => {
  it('serves only what the catalogue lists; sweep removes staged files and orphans', async () => {
    const dir = join(root, 'artifacts-1');
    const modules = new Map<number, { filename: string }[]>([[7, [{ filename: 'kept.bin' }]]]);
    const catalogue = {
      getSoftwareModule: async (id: number) => {
        const artifacts = modules.get(id);
        if (!artifacts) return undefined;
        return {
          id,
          type: 'os',
          name: 'm',
          version: '1',
          encrypted: false,
          metadata: [],
          artifacts: artifacts.map((a, i) => ({
            id: i + 1,
            filename: a.filename,
            size: 4,
            hashes: { sha1: '0'.repeat(40), md5: '0'.repeat(32), sha256: '0'.repeat(64) },
            createdAt: 1,
          })),
          createdAt: 1,
          lastModifiedAt: 1,
          revision: 0,
        };
      },
    };
    const store = await ArtifactStore.open(dir, { catalogue });
    await store.put(7, 'kept.bin', Readable.from([Buffer.from('keep')]));
    // Committed bytes whose catalogue entry never came (a crash in between): not served.
    await store.put(7, 'orphan.bin', Readable.from([Buffer.from('lost')]));
    await store.put(8, 'gone-module.bin', Readable.from([Buffer.from('lost')]));
    expect(await store.stat(7, 'orphan.bin')).toBeUndefined();
    expect(await store.stat(7, 'kept.bin')).toMatchObject({ size: 4, lastModified: 1 });
    // A half upload a crash left, and a sidecar of the old layout.
    await writeFile(join(dir, 'tmp', 'crashed.part'), 'half');
    await writeFile(join(dir, 'modules', '7', 'f-kept.bin.json'), '{}');

    expect(await store.sweep()).toEqual({ staged: 1, orphans: 3 });
    expect(await filesUnder(dir)).toEqual([join('modules', '7', 'f-kept.bin')]);
    expect(blobKeyOf(7, 'kept.bin')).toBe('modules/7/f-kept.bin');
    const bytes = await store.createReadStream(7, 'kept.bin');
    expect(Buffer.concat(await bytes.toArray()).toString()).toBe('keep');
  });
});

describe('the backend on the embedded database', () => {
  it('defaults under XDG_DATA_HOME / XDG_CACHE_HOME, else under the home directory', () => {
    expect(defaultDataDir({ XDG_DATA_HOME: '/data' })).toBe(join('/data', 'otaflow'));
    expect(defaultDataDir({})).toMatch(/\.local[/\\]share[/\\]otaflow$/);
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/cache' })).toBe(join('/cache', 'otaflow'));
    expect(templateName()).toMatch(/^pglite-template-[0-9a-f]{8}$/);
  });

  it('finds every target, module, artifact and action again after a restart on the same directory', async () => {
    const dataDir = join(root, 'state');
    const cache = join(root, 'cache');
    const env = { XDG_CACHE_HOME: cache };
    const config = parseConfig({ port: 0, logLevel: 'silent', dataDir });
    const start = async () => {
      const state = await openBackendStore(config, { logger: silentLogger, env });
      const backend = await startBackend(config, {
        logger: silentLogger,
        store: state.store,
        storeDescription: { ...state.description },
        ...(state.artifactsDir ? { artifactsDir: state.artifactsDir } : {}),
      });
      return { state, backend };
    };

    const first = await start();
    expect(first.state.description).toEqual({
      store: 'pglite',
      storeLocation: dataDir,
      artifactsDir: join(dataDir, 'artifacts'),
    });
    // The new directory came from the cached, migrated template.
    expect(existsSync(join(cache, 'otaflow', templateName()))).toBe(true);
    const b1 = first.backend;
    await call(b1, 'POST', '/rest/v1/targets', [{ controllerId: 'keep-1' }]);
    const sm = await call(b1, 'POST', '/rest/v1/softwaremodules', [
      { type: 'os', name: 'durable', version: '1' },
    ]);
    const moduleId = sm.json[0].id as number;
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('durable bytes')]), 'd.bin');
    const up = await fetch(`${b1.url}/rest/v1/softwaremodules/${moduleId}/artifacts`, {
      method: 'POST',
      headers: { Authorization: AUTH },
      body: form,
    });
    expect(up.status).toBe(201);
    const ds = await call(b1, 'POST', '/rest/v1/distributionsets', [
      { name: 'durable', version: '1', type: 'os', modules: [{ id: moduleId }] },
    ]);
    const assigned = await call(
      b1,
      'POST',
      `/rest/v1/distributionsets/${ds.json[0].id}/assignedTargets`,
      [{ id: 'keep-1' }],
    );
    const actionId = assigned.json.assignedActions[0].id as number;
    await first.backend.close();
    await first.state.close();
    // A second store on a directory in use is refused while the first is open: here it is closed.
    expect(existsSync(`${join(dataDir, 'pglite')}.lock`)).toBe(false);

    const second = await start();
    try {
      const b2 = second.backend;
      expect((await call(b2, 'GET', '/rest/v1/targets/keep-1')).json.updateStatus).toBe('pending');
      const action = await call(b2, 'GET', `/rest/v1/targets/keep-1/actions/${actionId}`);
      expect(action.json).toMatchObject({ id: actionId, active: true });
      const artifacts = await call(b2, 'GET', `/rest/v1/softwaremodules/${moduleId}/artifacts`);
      expect(artifacts.json).toHaveLength(1);
      const download = await fetch(
        `${b2.url}/rest/v1/softwaremodules/${moduleId}/artifacts/${artifacts.json[0].id}/download`,
        { headers: { Authorization: AUTH } },
      );
      expect(await download.text()).toBe('durable bytes');
      // Ids go on from where they were.
      const next = await call(b2, 'POST', '/rest/v1/softwaremodules', [
        { type: 'os', name: 'durable', version: '2' },
      ]);
      expect(next.json[0].id).toBeGreaterThan(moduleId);
    } finally {
      await second.backend.close();
      await second.state.close();
    }
  }, 120_000);

  it('memory: artifacts in the data directory itself, nothing else written', async () => {
    const dataDir = join(root, 'memory');
    await mkdir(dataDir);
    const state = await openBackendStore(parseConfig({ store: 'memory', dataDir }), {
      logger: silentLogger,
    });
    expect(state.description).toEqual({ store: 'memory', artifactsDir: dataDir });
    expect(await readdir(dataDir)).toEqual([]);
    await state.close();
  });
});
