import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ActionEvent,
  MAX_APPLIED_KEYS,
  MemoryUpdateStore,
  UpdateService,
} from '../src/index.js';
import { serviceWithSet } from './fixtures.js';

async function oneAction(store = new MemoryUpdateStore()) {
  const { service, set } = await serviceWithSet({ store });
  await service.createTarget({ controllerId: 'dev-1' });
  const { actions } = await service.assign(set.id, [{ controllerId: 'dev-1' }]);
  return { service, store, id: actions[0]!.id };
}

const proceeding = (at: number): ActionEvent => ({ type: 'action.proceeding', at });

describe('UpdateService.apply with { once }', () => {
  it('takes a key once: the same key again is DUPLICATE_REPORT and changes nothing', async () => {
    const { service, store, id } = await oneAction();
    const first = await service.apply(id, proceeding(1), { once: 'k1' });
    expect(first).toMatchObject({ ok: true, action: { status: 'RUNNING' } });
    const before = await store.getAction(id);
    expect(before?.applied).toEqual(['k1']);
    const again = await service.apply(id, proceeding(2), { once: 'k1' });
    expect(again).toMatchObject({
      ok: false,
      code: 'DUPLICATE_REPORT',
      action: { id, status: 'RUNNING' },
    });
    expect(await store.getAction(id)).toBe(before);
    const other = await service.apply(id, proceeding(3), { once: 'k2' });
    expect(other.ok).toBe(true);
    expect((await store.getAction(id))?.applied).toEqual(['k1', 'k2']);
  });

  it('recognises a key after a restart: a new service over the same store', async () => {
    const { service, store, id } = await oneAction();
    await service.apply(id, proceeding(1), { once: 'k1' });
    const history = (await service.getActionHistory(id))?.length;
    const restarted = new UpdateService({ store });
    const again = await restarted.apply(id, proceeding(2), { once: 'k1' });
    expect(again).toMatchObject({ ok: false, code: 'DUPLICATE_REPORT' });
    expect((await restarted.getActionHistory(id))?.length).toBe(history);
  });

  it('applies a key once when two processes sharing the store take it at the same time', async () => {
    const { service, store, id } = await oneAction();
    const other = new UpdateService({ store });
    // Each service has its own lock, as two processes would: the store's versions decide.
    const results = await Promise.all([
      service.apply(id, proceeding(1), { once: 'k1' }),
      other.apply(id, proceeding(2), { once: 'k1' }),
    ]);
    expect(results.map((r) => (r.ok ? 'ok' : r.code)).sort()).toEqual(['DUPLICATE_REPORT', 'ok']);
    const history = (await service.getActionHistory(id)) ?? [];
    expect(history.filter((h) => h.status === 'RUNNING')).toHaveLength(2); // creation + one note
    expect((await store.getAction(id))?.applied).toEqual(['k1']);
  });

  it('keeps the last MAX_APPLIED_KEYS keys, the oldest dropped first', async () => {
    const { service, store, id } = await oneAction();
    for (let i = 0; i <= MAX_APPLIED_KEYS; i++)
      expect((await service.apply(id, proceeding(i), { once: `k${i}` })).ok).toBe(true);
    const applied = (await store.getAction(id))?.applied ?? [];
    expect(applied).toHaveLength(MAX_APPLIED_KEYS);
    expect(applied[0]).toBe('k1');
    expect(applied.at(-1)).toBe(`k${MAX_APPLIED_KEYS}`);
    expect((await service.apply(id, proceeding(99), { once: 'k1' })).ok).toBe(false);
  });

  it('keeps the keys through writes without one, and answers a closed action DUPLICATE_REPORT for a taken key', async () => {
    const { service, store, id } = await oneAction();
    await service.apply(id, proceeding(1), { once: 'k1' });
    await service.apply(id, proceeding(2));
    await service.setActionRef(id, 'huawei.operation', 'dev-1/op-1');
    expect((await store.getAction(id))?.applied).toEqual(['k1']);
    const finish = (at: number, once: string) =>
      service.apply(id, { type: 'action.finished', result: 'success', at }, { once });
    expect(await finish(3, 'done')).toMatchObject({ ok: true, action: { status: 'FINISHED' } });
    expect(await finish(4, 'done')).toMatchObject({ ok: false, code: 'DUPLICATE_REPORT' });
    expect(await finish(5, 'new')).toMatchObject({ ok: false, code: 'ACTION_CLOSED' });
    // A refused report takes no key.
    expect((await store.getAction(id))?.applied).toEqual(['k1', 'done']);
  });

  it('leaves records of actions never applied with a key as they were (no applied field)', async () => {
    const { service, store, id } = await oneAction();
    await service.apply(id, proceeding(1));
    expect(await store.getAction(id)).not.toHaveProperty('applied');
  });

  it('answers DUPLICATE_REPORT exactly for keys an earlier report was applied with', async () => {
    const step = fc.record({
      type: fc.constantFrom(
        'action.retrieved',
        'action.download',
        'action.downloaded',
        'action.proceeding',
        'action.confirmed',
      ),
      once: fc.option(fc.constantFrom('a', 'b', 'c', 'd'), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 20 }), async (steps) => {
        const { service, store, id } = await oneAction();
        const taken: string[] = [];
        for (const [at, s] of steps.entries()) {
          const before = await store.getAction(id);
          const result = await service.apply(
            id,
            { type: s.type, at } as ActionEvent,
            s.once === undefined ? undefined : { once: s.once },
          );
          const duplicate = s.once !== undefined && taken.includes(s.once);
          if (duplicate) {
            expect(result).toMatchObject({ ok: false, code: 'DUPLICATE_REPORT' });
            expect(await store.getAction(id)).toBe(before);
          } else if (result.ok && s.once !== undefined) taken.push(s.once);
          else expect(!result.ok && result.code === 'DUPLICATE_REPORT').toBe(false);
        }
        expect((await store.getAction(id))?.applied).toEqual(taken.length ? taken : undefined);
      }),
      { numRuns: 200 },
    );
  });
});
