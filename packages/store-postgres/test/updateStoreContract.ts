import {
  type ActionRecord,
  createTargetSnapshot,
  type DistributionSet,
  getTargetsOf,
  MemoryUpdateStore,
  nextIdsOf,
  OtaflowError,
  persistTarget,
  putNewActionsOf,
  putNewTargetsOf,
  type SoftwareModule,
  type TargetRecord,
  UpdateService,
  type UpdateStore,
} from '@otaflow/core';
import { describe, expect, it } from 'vitest';
import { describeCollections } from './collectionContract.js';
import { describeListQueries } from './listQueryContract.js';
import { describeTargetRelations } from './targetRelationsContract.js';

/** A fresh, empty store per call (a new tenant, a new database: whatever keeps tests apart). */
export type StoreFactory = () => Promise<UpdateStore>;

export function targetRecord(controllerId: string, version = 0, name = controllerId): TargetRecord {
  return {
    controllerId,
    name,
    securityToken: 'token',
    attributes: { 'hw.rev': 'ä1' },
    requestAttributes: true,
    version,
    state: persistTarget(createTargetSnapshot({ controllerId, createdAt: 1_000 })),
  };
}

/** A real action record, made by core on a scratch memory store, with the given id. */
async function actionRecord(controllerId: string, id: number): Promise<ActionRecord> {
  const store = new MemoryUpdateStore();
  const service = new UpdateService({ store, clock: () => 5_000 });
  const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
  const set = await service.createDistributionSet({
    name: 'fw',
    version: '1',
    modules: [module.id],
  });
  await service.createTarget({ controllerId });
  const [action] = (await service.assign(set.id, [{ controllerId }])).actions;
  const record = (await store.getAction(action!.id))!;
  return { ...record, id };
}

function moduleRecord(id: number, revision = 0): SoftwareModule {
  return {
    id,
    type: 'os',
    name: `mod-${id}`,
    version: '1.0',
    encrypted: false,
    metadata: [],
    artifacts: [],
    createdAt: 1,
    lastModifiedAt: 1,
    revision,
  };
}

function setRecord(id: number, name: string, version: string, revision = 0): DistributionSet {
  return {
    id,
    name,
    version,
    type: 'os_app',
    requiredMigrationStep: false,
    modules: [1],
    createdAt: 1,
    lastModifiedAt: 1,
    revision,
  };
}

async function conflictOf(write: Promise<unknown>) {
  const error = await write.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OtaflowError);
  expect(error).toMatchObject({ code: 'CONFLICT' });
}

/** The cases every UpdateStore must pass, whatever holds the rows. */
export function describeUpdateStore(name: string, factory: StoreFactory) {
  describe(`UpdateStore contract: ${name}`, () => {
    it('round-trips targets with unicode, hostile text and 256-character ids', async () => {
      const store = await factory();
      const ids = ['x'.repeat(256), 'Gerät-äöü-日本-😀', "'; DROP TABLE targets; --", 'a%_\\b'];
      for (const id of ids) await store.putTarget(targetRecord(id, 0, `name ${id}`), -1);
      for (const id of ids)
        expect(await store.getTarget(id)).toEqual(targetRecord(id, 0, `name ${id}`));
      expect(await store.getTarget('a%')).toBeUndefined();
      expect((await store.listTargets()).total).toBe(ids.length);
    });

    it('lists in insertion order and pages stably', async () => {
      const store = await factory();
      const ids = ['t-c', 't-a', 't-e', 't-b', 't-d'];
      for (const id of ids) await store.putTarget(targetRecord(id), -1);
      // An update keeps the row's place.
      await store.putTarget(targetRecord('t-a', 1), 0);
      const all = await store.listTargets();
      expect(all.items.map((t) => t.controllerId)).toEqual(ids);
      const page = await store.listTargets({ offset: 1, limit: 2 });
      expect(page).toMatchObject({ total: 5 });
      expect(page.items.map((t) => t.controllerId)).toEqual(['t-a', 't-e']);
      expect((await store.listTargets({ offset: 10, limit: 2 })).items).toEqual([]);
      for (const id of [3, 1, 2]) await store.putSoftwareModule(moduleRecord(id), -1);
      expect((await store.listSoftwareModules({ limit: 2 })).items.map((m) => m.id)).toHaveLength(
        2,
      );
      expect((await store.listSoftwareModules()).total).toBe(3);
    });

    it('refuses stale and duplicate writes with CONFLICT, and writes nothing', async () => {
      const store = await factory();
      await store.putTarget(targetRecord('v'), -1);
      await conflictOf(store.putTarget(targetRecord('v'), -1));
      await conflictOf(store.putTarget(targetRecord('v', 1, 'changed'), 5));
      await conflictOf(store.putTarget(targetRecord('missing', 1), 0));
      expect((await store.getTarget('v'))?.name).toBe('v');
      const action = await actionRecord('v', 7);
      await store.putAction(action, -1);
      await conflictOf(store.putAction(action, -1));
      await conflictOf(store.putAction({ ...action, version: 1 }, 3));
      await store.putAction({ ...action, version: 1 }, 0);
      expect((await store.getAction(7))?.version).toBe(1);
      await store.putSoftwareModule(moduleRecord(1), -1);
      await conflictOf(store.putSoftwareModule(moduleRecord(1, 1), 4));
      await store.putDistributionSet(setRecord(1, 's', '1'), -1);
      await conflictOf(store.putDistributionSet(setRecord(1, 's', '1', 1), 2));
      await store.putDistributionSet(setRecord(1, 's', '1', 1), 0);
      expect((await store.getDistributionSet(1))?.revision).toBe(1);
    });

    it('lets exactly one of many concurrent writers of one version win', async () => {
      const store = await factory();
      await store.putTarget(targetRecord('race'), -1);
      const results = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) =>
          store.putTarget(targetRecord('race', 1, `writer ${i}`), 0),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const ids = await Promise.all(Array.from({ length: 16 }, () => store.nextId('action')));
      expect(new Set(ids).size).toBe(16);
      expect(Math.min(...ids)).toBe(1);
    });

    it('finds actions by reference, and keeps report keys', async () => {
      const store = await factory();
      await store.putTarget(targetRecord('r'), -1);
      const action = {
        ...(await actionRecord('r', 3)),
        refs: { 'suv2.correlationId': "c'1%" },
        applied: ['k1', 'k2'],
      };
      await store.putAction(action, -1);
      expect(await store.findActionByRef('suv2.correlationId', "c'1%")).toEqual(action);
      expect(await store.findActionByRef('suv2.correlationId', 'c')).toBeUndefined();
      expect(await store.findActionByRef('other', "c'1%")).toBeUndefined();
      await store.putAction({ ...action, version: 1, refs: { 'suv2.correlationId': 'c2' } }, 0);
      expect(await store.findActionByRef('suv2.correlationId', "c'1%")).toBeUndefined();
      expect((await store.findActionByRef('suv2.correlationId', 'c2'))?.applied).toEqual([
        'k1',
        'k2',
      ]);
      expect((await store.listActionsOfTarget('r')).map((a) => a.id)).toEqual([3]);
      expect(await store.deleteTarget('r')).toBe(true);
      expect(await store.getAction(3)).toBeUndefined();
      expect(await store.deleteTarget('r')).toBe(false);
    });

    it('writes many new actions at once, all or nothing inside a unit, and hands out ids in blocks', async () => {
      const store = await factory();
      await store.putTarget(targetRecord('b1'), -1);
      await store.putTarget(targetRecord('b2'), -1);
      expect(
        (await getTargetsOf(store, ['b2', 'nobody', 'b1'])).map((t) => t.controllerId).sort(),
      ).toEqual(['b1', 'b2']);
      const ids = await nextIdsOf(store, 'action', 3);
      expect(ids).toHaveLength(3);
      expect(ids[1]).toBe(ids[0]! + 1);
      expect((await nextIdsOf(store, 'action', 2))[0]).toBe(ids[2]! + 1);
      const [a, b] = [await actionRecord('b1', ids[0]!), await actionRecord('b2', ids[1]!)];
      await putNewActionsOf(store, [a!, b!]);
      expect(await store.getAction(ids[0]!)).toEqual(a);
      expect((await store.listActionsOfTarget('b2')).map((x) => x.id)).toEqual([ids[1]]);
      const c = await actionRecord('b1', ids[2]!);
      await expect(
        store.transaction((tx) => putNewActionsOf(tx, [c, { ...a!, version: 0 }])),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await store.getAction(ids[2]!)).toBeUndefined();
      expect(await store.getAction(ids[0]!)).toEqual(a);
    });

    it('reads a target and its actions together as a poll does, when the store can', async () => {
      const store = await factory();
      if (!store.getTargetAndActions) return;
      expect(await store.getTargetAndActions('none')).toEqual({ target: undefined, actions: [] });
      await store.putTarget(targetRecord('p1'), -1);
      expect(await store.getTargetAndActions('p1')).toEqual({
        target: await store.getTarget('p1'),
        actions: [],
      });
      const [first, second] = await nextIdsOf(store, 'action', 2);
      await putNewActionsOf(store, [
        await actionRecord('p1', second!),
        await actionRecord('p1', first!),
      ]);
      const both = await store.getTargetAndActions('p1');
      expect(both.actions).toEqual(await store.listActionsOfTarget('p1'));
      expect(both.actions.map((a) => a.id)).toEqual([first, second]);
    });

    it('writes many new targets in one batch, and none when one exists', async () => {
      const store = await factory();
      const fleet = ['n1', 'n2', 'n3'].map((id) => ({
        ...targetRecord(id),
        address: 'http://10.0.0.7:8080',
      }));
      await putNewTargetsOf(store, fleet);
      expect(await store.getTarget('n2')).toEqual(fleet[1]);
      expect(
        (
          await store.listTargets({
            filter: { kind: 'cmp', field: 'ipAddress', op: '==', values: ['10.0.0.7'] },
          })
        ).total,
      ).toBe(3);
      await expect(
        store.transaction((tx) => putNewTargetsOf(tx, [targetRecord('n4'), targetRecord('n1')])),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await store.getTarget('n4')).toBeUndefined();
      expect((await store.listTargets()).total).toBe(3);
    });

    it('finds the oldest distribution set by name and version', async () => {
      const store = await factory();
      await store.putDistributionSet(setRecord(2, 'fw', '1'), -1);
      await store.putDistributionSet(setRecord(3, 'fw', '1'), -1);
      expect((await store.findDistributionSet('fw', '1'))?.id).toBe(2);
      expect(await store.findDistributionSet('fw', '2')).toBeUndefined();
      expect(await store.deleteDistributionSet(2)).toBe(true);
      expect((await store.findDistributionSet('fw', '1'))?.id).toBe(3);
    });

    it('commits a unit together and rolls it back on a throw', async () => {
      const store = await factory();
      await store.transaction(async (tx) => {
        await tx.putTarget(targetRecord('u1'), -1);
        await tx.transaction(async (inner) => inner.putTarget(targetRecord('u2'), -1));
        expect((await tx.getTarget('u2'))?.controllerId).toBe('u2');
      });
      expect((await store.listTargets()).total).toBe(2);
      const error = await store
        .transaction(async (tx) => {
          await tx.putTarget(targetRecord('u3'), -1);
          await tx.putTarget(targetRecord('u1', 1, 'renamed'), 0);
          // A conflict inside leaves the unit usable (no SQL error): it can read on.
          await conflictOf(tx.putTarget(targetRecord('u2', 1), 7));
          expect(await tx.getTarget('u3')).toBeDefined();
          throw new Error('rolled back');
        })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ message: 'rolled back' });
      expect(await store.getTarget('u3')).toBeUndefined();
      expect((await store.getTarget('u1'))?.name).toBe('u1');
    });

    it('runs a whole update through UpdateService', async () => {
      const store = await factory();
      const service = new UpdateService({ store });
      const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '2' });
      const set = await service.createDistributionSet({
        name: 'fw',
        version: '2',
        modules: [module.id],
      });
      await service.createTarget({ controllerId: 'dev-1' });
      await service.createTarget({ controllerId: 'dev-2' });
      const assigned = await service.assign(set.id, [
        { controllerId: 'dev-1' },
        { controllerId: 'dev-2' },
      ]);
      expect(assigned.assigned).toBe(2);
      expect((await service.getTarget('dev-1'))?.updateStatus).toBe('PENDING');
      const [a1, a2] = assigned.actions;
      await service.setActionRef(a1!.id, 'suv2.correlationId', 'corr-1');
      const found = await service.findActionIdByRef('suv2.correlationId', 'corr-1');
      expect(found?.id).toBe(a1!.id);
      for (const [type, at] of [
        ['action.retrieved', 10],
        ['action.download', 11],
        ['action.downloaded', 12],
      ] as const) {
        expect((await service.apply(a1!.id, { type, at }, { once: `r-${at}` })).ok).toBe(true);
      }
      expect(
        await service.apply(a1!.id, { type: 'action.download', at: 13 }, { once: 'r-11' }),
      ).toMatchObject({ ok: false, code: 'DUPLICATE_REPORT' });
      const done = await service.apply(a1!.id, {
        type: 'action.finished',
        result: 'success',
        at: 20,
      });
      expect(done).toMatchObject({ ok: true, targetStatus: 'IN_SYNC' });
      const failed = await service.apply(a2!.id, {
        type: 'action.finished',
        result: 'failure',
        at: 21,
      });
      expect(failed).toMatchObject({ ok: true, targetStatus: 'ERROR' });
      expect((await service.getAction(a1!.id))?.status).toBe('FINISHED');
      expect((await service.getActionHistory(a1!.id))?.length).toBeGreaterThanOrEqual(5);
      expect(await service.apply(a1!.id, { type: 'action.download', at: 30 })).toMatchObject({
        ok: false,
        code: 'ACTION_CLOSED',
      });
      // Counted in the store, this tenant's only: what a metrics scrape reads.
      expect(await store.countActionsByStatus?.()).toEqual({ FINISHED: 1, ERROR: 1 });
      await expect(store.ping?.()).resolves.toBeUndefined();
    });
  });
  describe(`${name}: poll times`, () => {
    it('moves lastContactAt forward only, without a version, skipping unknown targets', async () => {
      const store = await factory();
      await store.putTarget(targetRecord('a'), -1);
      const contactOf = async (id: string) =>
        ((await store.getTarget(id))?.state.context as { lastContactAt?: number } | undefined)
          ?.lastContactAt;
      await store.touchTargets([
        { controllerId: 'a', at: 5_000 },
        { controllerId: 'a', at: 7_000 },
        { controllerId: 'nobody', at: 1 },
      ]);
      expect(await contactOf('a')).toBe(7_000);
      await store.touchTargets([{ controllerId: 'a', at: 6_000 }]);
      expect(await contactOf('a')).toBe(7_000);
      expect((await store.getTarget('a'))?.version).toBe(0);
      expect(await store.getTarget('nobody')).toBeUndefined();
      // A versioned write after it still finds the version it read.
      const read = (await store.getTarget('a'))!;
      await store.putTarget({ ...read, name: 'renamed', version: 1 }, 0);
      expect(await contactOf('a')).toBe(7_000);
    });
  });
  describeListQueries(name, factory);
  describeTargetRelations(name, factory);
  describeCollections(name, factory);
}
