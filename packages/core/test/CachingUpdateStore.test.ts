import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CachingUpdateStore,
  type FilterNode,
  MemoryUpdateStore,
  UpdateService,
} from '../src/index.js';

/** Counts what reaches the store behind the cache. */
class CountingStore extends MemoryUpdateStore {
  reads = 0;
  override async getTarget(controllerId: string) {
    this.reads++;
    return super.getTarget(controllerId);
  }
  override async listActionsOfTarget(controllerId: string) {
    this.reads++;
    return super.listActionsOfTarget(controllerId);
  }
}

async function setup(maxEntries?: number) {
  const inner = new CountingStore();
  const cache = new CachingUpdateStore(inner, maxEntries === undefined ? {} : { maxEntries });
  let now = 1_000;
  const service = new UpdateService({ store: cache, clock: () => now++ });
  const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
  const set = await service.createDistributionSet({
    name: 'fw',
    version: '1',
    modules: [module.id],
  });
  // A second backend: the same records, no cache of its own, nobody tells this cache.
  const other = new UpdateService({ store: inner, clock: () => now++ });
  return { inner, cache, service, other, set };
}

describe('CachingUpdateStore', () => {
  it('fills a missed poll read with one read of target and actions where the store has it', async () => {
    /** A store that reads both at once (PostgreSQL does, in one statement). */
    class BothAtOnce extends CountingStore {
      together = 0;
      async getTargetAndActions(controllerId: string) {
        this.together++;
        const reads = this.reads;
        const both = {
          target: await super.getTarget(controllerId),
          actions: await super.listActionsOfTarget(controllerId),
        };
        this.reads = reads;
        return both;
      }
    }
    const inner = new BothAtOnce();
    const cache = new CachingUpdateStore(inner);
    const service = new UpdateService({ store: cache });
    await service.createTarget({ controllerId: 'a' });
    const [before, together] = [inner.reads, inner.together];
    for (let i = 0; i < 3; i++) {
      await cache.getTarget('a');
      await cache.listActionsOfTarget('a');
    }
    expect([inner.together - together, inner.reads - before]).toEqual([1, 0]);
  });

  it('answers a repeated poll read from memory', async () => {
    const { inner, cache, service } = await setup();
    await service.createTarget({ controllerId: 'a' });
    await cache.getTarget('a');
    await cache.listActionsOfTarget('a');
    const before = inner.reads;
    for (let i = 0; i < 5; i++) {
      await cache.getTarget('a');
      await cache.listActionsOfTarget('a');
    }
    expect(inner.reads).toBe(before);
    expect(cache.stats().hits).toBeGreaterThanOrEqual(10);
  });

  it('forgets every target a group move through it may have changed', async () => {
    const { cache, service } = await setup();
    await service.createTarget({ controllerId: 'a' });
    await service.createTarget({ controllerId: 'b', group: 'Lab' });
    await cache.getTarget('a');
    await cache.getTarget('b');
    const filter: FilterNode = { kind: 'cmp', field: 'controllerId', op: '==', values: ['*'] };
    expect(await service.setTargetGroup('Europe/East', { filter })).toBe(2);
    expect((await cache.getTarget('a'))?.group).toBe('Europe/East');
    expect(await service.setTargetGroup(undefined, { controllerIds: ['b'] })).toBe(1);
    expect((await cache.getTarget('b'))?.group).toBeUndefined();
    expect(await service.listTargetGroups()).toEqual(['Europe/East']);
  });

  it('sees its own writes, committed in a unit or not', async () => {
    const { cache, service, set } = await setup();
    await service.createTarget({ controllerId: 'a' });
    expect(await cache.listActionsOfTarget('a')).toEqual([]);
    const { actions } = await service.assign(set.id, [{ controllerId: 'a' }]);
    expect((await cache.listActionsOfTarget('a')).map((a) => a.id)).toEqual([actions[0]!.id]);
    expect((await cache.getTarget('a'))?.version).toBeGreaterThan(0);
    await service.apply(actions[0]!.id, { type: 'action.finished', success: true, at: 5 } as never);
    expect((await cache.listActionsOfTarget('a'))[0]?.state.value).toEqual(
      (await cache.inner.listActionsOfTarget('a'))[0]?.state.value,
    );
  });

  it('forgets nothing a rolled-back unit wrote, and keeps nothing it saw', async () => {
    const { cache, service } = await setup();
    await service.createTarget({ controllerId: 'a' });
    const stored = await cache.getTarget('a');
    await expect(
      cache.transaction(async (tx) => {
        await tx.putTarget(
          { ...stored!, name: 'changed', version: stored!.version + 1 },
          stored!.version,
        );
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await cache.getTarget('a'))?.name).toBe('a');
  });

  it("serves another writer's change once told, and the old state until then", async () => {
    const { cache, service, other } = await setup();
    await service.createTarget({ controllerId: 'a' });
    await cache.getTarget('a');
    await other.updateTarget('a', { name: 'renamed' });
    expect((await cache.getTarget('a'))?.name).toBe('a');
    cache.invalidate('a');
    expect((await cache.getTarget('a'))?.name).toBe('renamed');
  });

  it('keeps nothing while disabled, and starts empty when enabled again', async () => {
    const { inner, cache, service } = await setup();
    await service.createTarget({ controllerId: 'a' });
    cache.setEnabled(false);
    const before = inner.reads;
    await cache.getTarget('a');
    await cache.getTarget('a');
    expect(inner.reads).toBe(before + 2);
    cache.setEnabled(true);
    await cache.getTarget('a');
    await cache.getTarget('a');
    expect(inner.reads).toBe(before + 3);
  });

  it('keeps at most maxEntries targets, the least recently read going first', async () => {
    const { inner, cache, service } = await setup(2);
    for (const id of ['a', 'b', 'c']) await service.createTarget({ controllerId: id });
    await cache.getTarget('a');
    await cache.getTarget('b');
    await cache.getTarget('a');
    await cache.getTarget('c');
    expect(cache.stats().entries).toBe(2);
    const before = inner.reads;
    await cache.getTarget('a');
    await cache.getTarget('c');
    expect(inner.reads).toBe(before);
    await cache.getTarget('b');
    expect(inner.reads).toBe(before + 1);
  });

  it('drops a read that overlapped a write of its key', async () => {
    let release: () => void = () => {};
    class SlowStore extends MemoryUpdateStore {
      override async getTarget(id: string) {
        const found = await super.getTarget(id);
        await new Promise<void>((r) => {
          release = r;
        });
        return found;
      }
    }
    const slow = new SlowStore();
    const inner = new MemoryUpdateStore();
    const cache = new CachingUpdateStore(slow);
    const service = new UpdateService({ store: inner });
    await service.createTarget({ controllerId: 'a' });
    const record = (await inner.getTarget('a'))!;
    await slow.putTarget(record);
    const reading = cache.getTarget('a');
    // The read holds the old record; a write through the cache lands meanwhile.
    await cache.putTarget({ ...record, name: 'new', version: record.version + 1 }, record.version);
    release();
    expect((await reading)?.name).toBe('a');
    expect(cache.stats().entries).toBe(0);
  });

  it('reads as the store does, whatever mix of writes, foreign writes and reads (property)', async () => {
    const ids = ['a', 'b', 'c'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('create' as const), id: fc.constantFrom(...ids) }),
      fc.record({ kind: fc.constant('assign' as const), id: fc.constantFrom(...ids) }),
      fc.record({ kind: fc.constant('finish' as const), id: fc.constantFrom(...ids) }),
      fc.record({
        kind: fc.constant('rename' as const),
        id: fc.constantFrom(...ids),
        foreign: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('delete' as const), id: fc.constantFrom(...ids) }),
      fc.record({ kind: fc.constant('read' as const), id: fc.constantFrom(...ids) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const { cache, service, other, set } = await setup(2);
        for (const o of ops) {
          const by = o.kind === 'rename' && o.foreign ? other : service;
          try {
            if (o.kind === 'create') await by.createTarget({ controllerId: o.id });
            else if (o.kind === 'assign') await by.assign(set.id, [{ controllerId: o.id }]);
            else if (o.kind === 'finish') {
              const open = (await by.listActions(o.id)).find((a) => a.active);
              if (open)
                await by.apply(open.id, { type: 'action.finished', success: true, at: 9 } as never);
            } else if (o.kind === 'rename') await by.updateTarget(o.id, { name: `n${o.id}` });
            else if (o.kind === 'delete') await by.deleteTarget(o.id);
            else {
              await cache.getTarget(o.id);
              await cache.listActionsOfTarget(o.id);
            }
          } catch {
            // Refusals (unknown target, duplicate) change nothing; the reads must still agree.
          }
          // What a change feed would do for the foreign writer.
          if (by === other) cache.invalidate(o.id);
          for (const id of ids) {
            expect(await cache.getTarget(id)).toEqual(await cache.inner.getTarget(id));
            expect(await cache.listActionsOfTarget(id)).toEqual(
              await cache.inner.listActionsOfTarget(id),
            );
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
