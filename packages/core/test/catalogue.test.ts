import { describe, expect, it } from 'vitest';
import {
  MemoryUpdateStore,
  OtaflowError,
  type SoftwareModule,
  UpdateService,
} from '../src/index.js';

const hashes = (n: number) => ({
  sha1: n.toString(16).padStart(40, '0'),
  md5: n.toString(16).padStart(32, '0'),
  sha256: n.toString(16).padStart(64, '0'),
});
const file = (n: number) => ({ filename: `part-${n}.bin`, size: n, hashes: hashes(n) });

/**
 * A store whose module reads take a turn of the event loop, as a database's would, so two writers
 * read the same revision; it counts the writes that lost, so the race test knows it raced.
 */
class SlowReadStore extends MemoryUpdateStore {
  conflicts = 0;
  override async getSoftwareModule(id: number) {
    const module = await super.getSoftwareModule(id);
    await new Promise((resolve) => setImmediate(resolve));
    return module;
  }
  override async putSoftwareModule(module: SoftwareModule, expectedRevision?: number) {
    try {
      await super.putSoftwareModule(module, expectedRevision);
    } catch (error) {
      if (error instanceof OtaflowError && error.code === 'CONFLICT') this.conflicts++;
      throw error;
    }
  }
}

describe('catalogue revisions', () => {
  it('MemoryUpdateStore refuses a stale module or set write with CONFLICT', async () => {
    const store = new MemoryUpdateStore();
    const service = new UpdateService({ store });
    const module = await service.createSoftwareModule({ type: 'os', name: 'os', version: '1' });
    const set = await service.createDistributionSet({
      name: 'os',
      version: '1',
      modules: [module.id],
    });
    expect(module.revision).toBe(0);
    expect(set.revision).toBe(0);
    await service.addArtifact(module.id, file(1));
    expect((await service.getSoftwareModule(module.id))?.revision).toBe(1);
    await expect(
      store.putSoftwareModule({ ...module, revision: 1 }, module.revision),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(store.putSoftwareModule(module, -1)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(store.putDistributionSet(set, -1)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(
      store.putDistributionSet({ ...set, revision: 2 }, set.revision + 1),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    // The refused writes changed nothing.
    expect((await service.getSoftwareModule(module.id))?.artifacts).toHaveLength(1);
    expect(await service.getDistributionSet(set.id)).toEqual(set);
    await store.putDistributionSet({ ...set, revision: 1 }, set.revision);
    expect((await service.getDistributionSet(set.id))?.revision).toBe(1);
  });

  it('keeps all three artifacts of three concurrent addArtifact calls on one module', async () => {
    const service = new UpdateService({ store: new MemoryUpdateStore() });
    const module = await service.createSoftwareModule({ type: 'os', name: 'os', version: '1' });
    const added = await Promise.all([1, 2, 3].map((n) => service.addArtifact(module.id, file(n))));
    const stored = (await service.getSoftwareModule(module.id))!;
    expect(stored.artifacts.map((a) => a.filename).sort()).toEqual([
      'part-1.bin',
      'part-2.bin',
      'part-3.bin',
    ]);
    expect(stored.artifacts.map((a) => a.id).sort()).toEqual(added.map((a) => a.id).sort());
    expect(stored.revision).toBe(3);
  });

  it('loses no artifact when two services over one store race on a module', async () => {
    const store = new SlowReadStore();
    const a = new UpdateService({ store });
    const b = new UpdateService({ store });
    const module = await a.createSoftwareModule({ type: 'os', name: 'os', version: '1' });
    const first = await a.addArtifact(module.id, file(9));
    // Each service locks only its own writes: the two interleave, and the loser re-reads.
    const results = await Promise.all([
      a.addArtifact(module.id, file(1)),
      b.addArtifact(module.id, file(2)),
      a.addArtifact(module.id, file(3)),
      b.addArtifact(module.id, file(4)),
      b.deleteArtifact(module.id, first.id),
    ]);
    expect(store.conflicts).toBeGreaterThan(0);
    expect(results[4]).toBe(true);
    const stored = (await b.getSoftwareModule(module.id))!;
    expect(stored.artifacts.map((x) => x.filename).sort()).toEqual([
      'part-1.bin',
      'part-2.bin',
      'part-3.bin',
      'part-4.bin',
    ]);
    expect(stored.revision).toBe(6);
  });

  it('lists and looks up the catalogue through the service, not found as undefined', async () => {
    const service = new UpdateService({ store: new MemoryUpdateStore() });
    const module = await service.createSoftwareModule({ type: 'os', name: 'os', version: '1' });
    const set = await service.createDistributionSet({
      name: 'os',
      version: '1',
      modules: [module.id],
    });
    expect(await service.getSoftwareModule(module.id)).toEqual(module);
    expect(await service.getSoftwareModule(99)).toBeUndefined();
    expect(await service.getDistributionSet(set.id)).toEqual(set);
    expect(await service.getDistributionSet(99)).toBeUndefined();
    expect(await service.listSoftwareModules()).toEqual({ items: [module], total: 1 });
    expect(await service.listDistributionSets({ offset: 1 })).toEqual({ items: [], total: 1 });
    expect('store' in service).toBe(false);
  });
});
