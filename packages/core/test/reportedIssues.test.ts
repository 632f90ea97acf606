import { describe, expect, expectTypeOf, it } from 'vitest';
import { MemoryUpdateStore, type StoredActionView, UpdateService } from '../src/index.js';
import { serviceWithSet } from './fixtures.js';

async function setup() {
  const { service, store, events, set, module } = await serviceWithSet({ version: '1.0' });
  await service.createTarget({ controllerId: 'dev-1' });
  const { actions } = await service.assign(set.id, [{ controllerId: 'dev-1' }]);
  return { service, store, events, set, module, actionId: actions[0]!.id };
}

describe('getAction and findActionByRef declare the refs they return', () => {
  it('types and returns refs', async () => {
    const { service, actionId } = await setup();
    await service.setActionRef(actionId, 'suv2.correlationId', 'c-1');
    const byId = await service.getAction(actionId);
    const byRef = await service.findActionByRef('suv2.correlationId', 'c-1');
    expectTypeOf(byId).toEqualTypeOf<StoredActionView | undefined>();
    expectTypeOf(byRef).toEqualTypeOf<StoredActionView | undefined>();
    expectTypeOf<StoredActionView['refs']>().toEqualTypeOf<Record<string, string>>();
    expect(byId?.refs).toEqual({ 'suv2.correlationId': 'c-1' });
    expect(byRef?.refs).toEqual({ 'suv2.correlationId': 'c-1' });
    expect((await service.getAction(actionId + 100))?.refs).toBeUndefined();
  });
});

describe('MemoryUpdateStore ref index', () => {
  it('forgets the old value when a ref key gets a new one on the same action', async () => {
    const { service, actionId } = await setup();
    await service.setActionRef(actionId, 'huawei.operation', 'op-1');
    await service.setActionRef(actionId, 'huawei.operation', 'op-2');
    expect(await service.findActionByRef('huawei.operation', 'op-1')).toBeUndefined();
    expect((await service.findActionByRef('huawei.operation', 'op-2'))?.id).toBe(actionId);
    // Other keys of the action and later writes keep the current value findable.
    await service.setActionRef(actionId, 'other', 'x');
    await service.apply(actionId, { type: 'action.retrieved', at: 2_000 });
    expect((await service.findActionByRef('huawei.operation', 'op-2'))?.id).toBe(actionId);
    expect((await service.findActionByRef('other', 'x'))?.id).toBe(actionId);
    expect(await service.findActionByRef('huawei.operation', 'op-1')).toBeUndefined();
  });

  it('drops a ref that a write leaves out, but never one that now names another action', async () => {
    const store = new MemoryUpdateStore();
    const service = new UpdateService({ store });
    const { set } = await (async () => {
      const m = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
      return {
        set: await service.createDistributionSet({ name: 'fw', version: '1', modules: [m.id] }),
      };
    })();
    await service.createTarget({ controllerId: 'a' });
    await service.createTarget({ controllerId: 'b' });
    const a = (await service.assign(set.id, [{ controllerId: 'a' }])).actions[0]!.id;
    const b = (await service.assign(set.id, [{ controllerId: 'b' }])).actions[0]!.id;
    await service.setActionRef(a, 'k', 'shared');
    await service.setActionRef(b, 'k', 'shared');
    const recordA = (await store.getAction(a))!;
    await store.putAction({ ...recordA, version: recordA.version + 1, refs: {} }, recordA.version);
    expect((await service.findActionByRef('k', 'shared'))?.id).toBe(b);
    await service.deleteTarget('a');
    expect((await service.findActionByRef('k', 'shared'))?.id).toBe(b);
  });
});

describe('updateTarget', () => {
  it('emits TARGET_UPDATED only when something changed', async () => {
    const { service, store, events } = await setup();
    const before = (await store.getTarget('dev-1'))!.version;
    events.length = 0;
    await service.updateTarget('dev-1', { name: 'dev-1' });
    await service.updateTarget('dev-1', {});
    await service.updateTarget('dev-1', { name: undefined });
    expect(events).toEqual([]);
    expect((await store.getTarget('dev-1'))!.version).toBe(before);
    const view = await service.updateTarget('dev-1', { name: 'Kitchen', description: 'kitchen' });
    expect(view.name).toBe('Kitchen');
    expect(events.map((e) => e.type)).toEqual(['TARGET_UPDATED']);
    await service.updateTarget('dev-1', { name: 'Kitchen' });
    expect(events.map((e) => e.type)).toEqual(['TARGET_UPDATED']);
    await service.updateTarget('dev-1', { requestAttributes: false });
    expect(events.map((e) => e.type)).toEqual(['TARGET_UPDATED', 'TARGET_UPDATED']);
  });
});

describe('findDistributionSet', () => {
  it('finds a set by name and version through the store and the service', async () => {
    const { service, store, set, module } = await setup();
    const other = await service.createDistributionSet({
      name: 'fw',
      version: '2.0',
      modules: [module.id],
    });
    // Assigned in setup, so locked since: the same set, one revision on.
    expect(await service.findDistributionSet('fw', '1.0')).toMatchObject({
      id: set.id,
      locked: true,
    });
    expect(await store.findDistributionSet('fw', '2.0')).toEqual(other);
    expect(await service.findDistributionSet('fw', '3.0')).toBeUndefined();
    expect(await service.findDistributionSet('fw\u00001.0', '')).toBeUndefined();
    // Renamed and deleted sets are found under their new name only, or not at all.
    await store.putDistributionSet({ ...other, version: '2.1' });
    expect(await service.findDistributionSet('fw', '2.0')).toBeUndefined();
    expect((await service.findDistributionSet('fw', '2.1'))?.id).toBe(other.id);
    await store.deleteDistributionSet(other.id);
    expect(await service.findDistributionSet('fw', '2.1')).toBeUndefined();
  });

  it('answers the oldest of sets that share name and version', async () => {
    const { service, set, module } = await setup();
    await service.createDistributionSet({ name: 'fw', version: '1.0', modules: [module.id] });
    expect((await service.findDistributionSet('fw', '1.0'))?.id).toBe(set.id);
  });
});

describe('apply with a record that went stale before the lock', () => {
  it('sees what the earlier report did, as one at a time would', async () => {
    const { service, store } = await setup();
    await service.createTarget({ controllerId: 'dev-2' });
    const set = (await store.listDistributionSets()).items[0]!;
    const { actions } = await service.assign(set.id, [
      { controllerId: 'dev-2', confirmationRequired: true },
    ]);
    const id = actions[0]!.id;
    const [confirmed, download] = await Promise.all([
      service.apply(id, { type: 'action.confirmed', at: 2_000 }),
      service.apply(id, { type: 'action.download', at: 2_001 }),
    ]);
    expect(confirmed.ok).toBe(true);
    expect(download.ok).toBe(true);
    expect((await service.getAction(id))?.status).toBe('DOWNLOAD');
    const [finished, late] = await Promise.all([
      service.apply(id, { type: 'action.finished', result: 'success', at: 2_002 }),
      service.apply(id, { type: 'action.proceeding', at: 2_003 }),
    ]);
    expect(finished.ok).toBe(true);
    expect(late).toMatchObject({ ok: false, code: 'ACTION_CLOSED' });
  });
});
