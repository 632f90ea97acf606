import {
  type FilterNode,
  METADATA,
  metadataScope,
  type PageQuery,
  TAG_ASSIGNMENTS,
  TARGET_TAGS,
  tagScope,
  UpdateService,
  type UpdateStore,
} from '@otaflow/core';
import { describe, expect, it } from 'vitest';
import { asc, cmp, desc } from './listQueryContract.js';

type StoreFactory = () => Promise<UpdateStore>;

/**
 * Five targets: groups (a path, a sub-path, none), tags (two, one, none), metadata, an assigned
 * and an installed set; the target fields that read beyond the target, the same on every store.
 */
async function seeded(factory: StoreFactory) {
  const store = await factory();
  const service = new UpdateService({ store, clock: () => 9_000 });
  await service.createTarget({ controllerId: 'eu-1', group: 'Europe' });
  await service.createTarget({ controllerId: 'eu-2', group: 'Europe/East' });
  await service.createTarget({ controllerId: 'eu-3', group: 'EuropeanUnion' });
  await service.createTarget({ controllerId: 'us-1', group: 'US' });
  await service.createTarget({ controllerId: 'none' });
  const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
  const set = await service.createDistributionSet({
    name: 'Firmware',
    version: '2.0',
    modules: [module.id],
  });
  await service.assign(set.id, [{ controllerId: 'eu-1' }, { controllerId: 'us-1' }]);
  const tags = store.collection(TARGET_TAGS);
  const assignments = store.collection(TAG_ASSIGNMENTS);
  const tagged: Record<string, string[]> = { Red: ['eu-1', 'eu-2'], blue_x: ['eu-1'] };
  for (const [name, members] of Object.entries(tagged)) {
    const id = await tags.nextId();
    const audit = { createdAt: 1, createdBy: 'u', lastModifiedAt: 1, lastModifiedBy: 'u' };
    await tags.put({ id, revision: 0, name, ...audit }, -1);
    for (const member of members)
      await assignments.put(
        {
          id: await assignments.nextId(),
          revision: 0,
          scope: tagScope.target(id),
          tagId: id,
          member,
        },
        -1,
      );
  }
  const metadata = store.collection(METADATA);
  const entries: [string, string, string][] = [
    ['eu-1', 'owner', 'Alice'],
    ['eu-2', 'owner', 'bob'],
    ['eu-2', 'site', "'; DROP TABLE targets; --"],
    ['us-1', 'Owner', 'carol'],
  ];
  for (const [controllerId, key, value] of entries)
    await metadata.put(
      {
        id: await metadata.nextId(),
        revision: 0,
        scope: metadataScope.target(controllerId),
        key,
        value,
      },
      -1,
    );
  return { store, service };
}

const ALL = ['eu-1', 'eu-2', 'eu-3', 'us-1', 'none'];

export function describeTargetRelations(name: string, factory: StoreFactory) {
  describe(`target groups, tags, metadata and sets: ${name}`, () => {
    it('filters by group, tag, metadata and the names of the assigned and installed sets', async () => {
      const { store } = await seeded(factory);
      const ids = async (q: PageQuery) =>
        (await store.listTargets(q)).items.map((t) => t.controllerId);
      const cases: [FilterNode, string[]][] = [
        [cmp('group', '==', 'europe'), ['eu-1']],
        [cmp('group', '==', 'Europe/*'), ['eu-2']],
        [cmp('group', '==', 'Europe*'), ['eu-1', 'eu-2', 'eu-3']],
        [cmp('group', '!=', 'Europe'), ['eu-2', 'eu-3', 'us-1', 'none']],
        [cmp('group', '=out=', 'Europe', 'US'), ['eu-2', 'eu-3', 'none']],
        [cmp('tag', '==', 'red'), ['eu-1', 'eu-2']],
        [cmp('tag', '==', 'BLUE_*'), ['eu-1']],
        [cmp('tag', '==', 'blue%*'), []],
        [cmp('tag', '!=', 'red'), ['eu-3', 'us-1', 'none']],
        [cmp('tag', '=in=', 'blue_x', 'nope'), ['eu-1']],
        [cmp('tag', '=out=', 'blue_x'), ['eu-2', 'eu-3', 'us-1', 'none']],
        [cmp('tag', '<', 'c'), ['eu-1']],
        [cmp('tag', '==', '*'), ['eu-1', 'eu-2']],
        [cmp('metadata.owner', '==', 'alice'), ['eu-1']],
        [cmp('metadata.owner', '==', '*'), ['eu-1', 'eu-2']],
        [cmp('metadata.Owner', '==', '*'), ['us-1']],
        [cmp('metadata.owner', '!=', 'alice'), ['eu-2', 'eu-3', 'us-1', 'none']],
        [cmp('metadata.site', '==', "'; drop table targets; --"), ['eu-2']],
        [cmp('metadata.__proto__', '==', '*'), []],
        [cmp('assignedDistributionSetName', '==', 'firmware'), ['eu-1', 'us-1']],
        [cmp('assignedDistributionSetVersion', '=in=', '2.0'), ['eu-1', 'us-1']],
        [cmp('assignedDistributionSetName', '!=', 'firmware'), ['eu-2', 'eu-3', 'none']],
        [cmp('installedDistributionSetName', '==', '*'), []],
        [cmp('installedDistributionSetVersion', '!=', '2.0'), ALL],
      ];
      for (const [filter, expected] of cases)
        expect({ filter, got: await ids({ filter }) }).toEqual({ filter, got: expected });
      expect(
        await ids({
          filter: { kind: 'and', nodes: [cmp('tag', '==', 'red'), cmp('group', '==', 'europe')] },
        }),
      ).toEqual(['eu-1']);
      expect(await ids({ sort: [asc('group')] })).toEqual(['eu-1', 'eu-2', 'eu-3', 'us-1', 'none']);
      expect(await ids({ sort: [desc('metadata.owner')] })).toEqual([
        'eu-3',
        'us-1',
        'none',
        'eu-2',
        'eu-1',
      ]);
      expect(
        await ids({ sort: [asc('assignedDistributionSetName'), desc('controllerId')] }),
      ).toEqual(['us-1', 'eu-1', 'none', 'eu-3', 'eu-2']);
      await expect(store.listTargets({ sort: [asc('tag')] })).rejects.toMatchObject({
        code: 'INVALID_INPUT',
      });
    });

    it('moves the targets of a filter or of a list into a group, in batches, each at a new version', async () => {
      const { store } = await seeded(factory);
      const groupOf = async (id: string) => (await store.getTarget(id))?.group;
      const before = (await store.getTarget('eu-2'))!.version;
      expect(await store.listTargetGroups()).toEqual([
        'Europe',
        'Europe/East',
        'EuropeanUnion',
        'US',
      ]);
      // The filter names the group it changes: the moved targets leave it, the loop ends.
      expect(await store.setTargetGroup('Asia', { filter: cmp('group', '!=', 'Asia') })).toBe(5);
      expect(await store.listTargetGroups()).toEqual(['Asia']);
      expect((await store.getTarget('eu-2'))!.version).toBe(before + 1);
      expect(await store.setTargetGroup('Asia', { filter: cmp('tag', '==', 'red') })).toBe(0);
      expect(await store.setTargetGroup('Asia/South', { filter: cmp('tag', '==', 'red') })).toBe(2);
      expect(
        await store.setTargetGroup(undefined, { controllerIds: ['eu-1', 'unknown', 'us-1'] }),
      ).toBe(2);
      expect(await groupOf('eu-1')).toBeUndefined();
      expect(await groupOf('eu-2')).toBe('Asia/South');
      expect(await groupOf('us-1')).toBeUndefined();
      expect((await store.getTarget('us-1'))?.group).toBeUndefined();
      expect(await store.listTargetGroups()).toEqual(['Asia', 'Asia/South']);
      expect(await store.setTargetGroup(undefined, { controllerIds: [] })).toBe(0);
      await expect(
        store.setTargetGroup('x', { filter: cmp('nope', '==', '1') }),
      ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      expect(await store.listTargetGroups()).toEqual(['Asia', 'Asia/South']);
    });

    it('moves targets inside a unit with the unit: all or nothing', async () => {
      const { store } = await seeded(factory);
      const before = await store.listTargetGroups();
      await expect(
        store.transaction(async (tx) => {
          expect(await tx.setTargetGroup('Moved', { filter: cmp('group', '==', 'Europe*') })).toBe(
            3,
          );
          expect((await tx.getTarget('eu-1'))?.group).toBe('Moved');
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await store.listTargetGroups()).toEqual(before);
      await store.transaction((tx) => tx.setTargetGroup('Moved', { controllerIds: ['none'] }));
      expect((await store.getTarget('none'))?.group).toBe('Moved');
    });
  });
}
