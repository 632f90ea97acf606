import {
  createTargetSnapshot,
  type FilterNode,
  INSTALLED_REPORT_REF,
  type PageQuery,
  persistTarget,
  type SortKey,
  type TargetRecord,
  UpdateService,
  type UpdateStore,
} from '@otaflow/core';
import { describe, expect, it } from 'vitest';

type StoreFactory = () => Promise<UpdateStore>;

export const cmp = (field: string, op: string, ...values: string[]): FilterNode =>
  ({ kind: 'cmp', field, op, values }) as FilterNode;
const and = (...nodes: FilterNode[]): FilterNode => ({ kind: 'and', nodes });
const or = (...nodes: FilterNode[]): FilterNode => ({ kind: 'or', nodes });
export const asc = (field: string): SortKey => ({ field, direction: 'ASC' });
export const desc = (field: string): SortKey => ({ field, direction: 'DESC' });

const INJECTIONS = [
  "' OR '1'='1",
  "x'); DROP TABLE targets; --",
  '\\',
  "\\'",
  '$1',
  '%',
  '_',
  '") OR TRUE --',
];

function target(
  controllerId: string,
  createdAt: number,
  extra: Partial<TargetRecord> = {},
): TargetRecord {
  return {
    controllerId,
    name: controllerId,
    securityToken: 'token',
    attributes: {},
    requestAttributes: false,
    version: 0,
    state: persistTarget(createTargetSnapshot({ controllerId, createdAt })),
    ...extra,
  };
}

/** Six targets whose fields exercise case, wildcards, LIKE's metacharacters and empty values. */
const FLEET: TargetRecord[] = [
  target('alpha-1', 1000, {
    name: 'Alpha One',
    description: 'first',
    address: 'http://10.0.0.1:8080/x',
    attributes: { 'hw.rev': 'A1', serial: '100' },
  }),
  target('alpha-2', 2000, {
    name: 'alpha two',
    address: 'mqtt://[::1]:1883',
    attributes: { 'hw.rev': 'b2' },
  }),
  target('beta_1', 3000, { name: 'Beta%One', description: 'has_underscore' }),
  target('gamma\\1', 4000, {
    name: 'Gamma\\One',
    description: "it's",
    attributes: { 'hw.rev': "'; DROP TABLE targets; --" },
  }),
  target('delta', 5000, { name: 'DELTA', description: 'x', address: 'amqp://queue' }),
  target('betaX1', 6000, { name: 'Beta1' }),
];

async function seeded(factory: StoreFactory): Promise<UpdateStore> {
  const store = await factory();
  for (const t of FLEET) await store.putTarget(t, -1);
  return store;
}

async function ids(store: UpdateStore, query: PageQuery): Promise<string[]> {
  return (await store.listTargets(query)).items.map((t) => t.controllerId);
}

async function invalid(promise: Promise<unknown>) {
  await expect(promise).rejects.toMatchObject({ code: 'INVALID_INPUT' });
}

/** Filters, sorts and pages, the same on every store (core's in-memory semantics). */
export function describeListQueries(name: string, factory: StoreFactory) {
  describe(`list queries: ${name}`, () => {
    it('compares text case-insensitively, with * as the only wildcard', async () => {
      const store = await seeded(factory);
      const cases: [FilterNode, string[]][] = [
        [cmp('name', '==', 'alpha*'), ['alpha-1', 'alpha-2']],
        [cmp('name', '==', 'ALPHA ONE'), ['alpha-1']],
        [cmp('controllerId', '==', 'beta_*'), ['beta_1']],
        [cmp('controllerId', '==', 'beta?1'), []],
        [cmp('name', '==', '*%*'), ['beta_1']],
        [cmp('name', '==', '*\\*'), ['gamma\\1']],
        [cmp('name', '==', 'gamma\\one'), ['gamma\\1']],
        [cmp('name', '==', '*'), FLEET.map((t) => t.controllerId)],
        [cmp('name', '!=', 'alpha*'), ['beta_1', 'gamma\\1', 'delta', 'betaX1']],
        [cmp('description', '!=', 'first'), ['alpha-2', 'beta_1', 'gamma\\1', 'delta', 'betaX1']],
        [cmp('description', '==', '*'), ['alpha-1', 'beta_1', 'gamma\\1', 'delta']],
        [cmp('description', '==', "IT'S"), ['gamma\\1']],
        [cmp('controllerId', '=in=', 'ALPHA-1', 'delta', 'nope'), ['alpha-1', 'delta']],
        [cmp('controllerId', '=in=', 'alpha*'), []],
        [
          cmp('controllerId', '=out=', 'alpha-1', 'delta'),
          ['alpha-2', 'beta_1', 'gamma\\1', 'betaX1'],
        ],
        [cmp('name', '<', 'b'), ['alpha-1', 'alpha-2']],
        [cmp('name', '>=', 'DELTA'), ['gamma\\1', 'delta']],
        [cmp('updateStatus', '==', 'unknown'), FLEET.map((t) => t.controllerId)],
        [cmp('updateStatus', '=in=', 'pending', 'error'), []],
        [cmp('ipAddress', '==', '10.0.0.1'), ['alpha-1']],
        [cmp('ipAddress', '==', '::1'), ['alpha-2']],
        [cmp('ipAddress', '==', '*'), ['alpha-1', 'alpha-2']],
        [cmp('attribute.hw.rev', '==', 'a1'), ['alpha-1']],
        [cmp('attribute.hw.rev', '==', 'B*'), ['alpha-2']],
        [cmp('attribute.hw.rev', '==', "'; drop table targets; --"), ['gamma\\1']],
        [cmp('attribute.serial', '>=', '100'), ['alpha-1']],
        [cmp('attribute.missing', '==', '*'), []],
        [cmp('attribute.missing', '!=', 'x'), FLEET.map((t) => t.controllerId)],
        [cmp('attribute.__proto__', '==', '*'), []],
      ];
      for (const [filter, expected] of cases)
        expect({ filter, got: await ids(store, { filter }) }).toEqual({ filter, got: expected });
    });

    it('compares numbers and timestamps numerically; a non-number matches nothing', async () => {
      const store = await seeded(factory);
      const all = FLEET.map((t) => t.controllerId);
      const cases: [FilterNode, string[]][] = [
        [cmp('createdAt', '<', '3000'), ['alpha-1', 'alpha-2']],
        [cmp('createdAt', '<=', '3000'), ['alpha-1', 'alpha-2', 'beta_1']],
        [cmp('createdAt', '>', '4000'), ['delta', 'betaX1']],
        [cmp('createdAt', '>=', '5e3'), ['delta', 'betaX1']],
        [cmp('createdAt', '==', '2000'), ['alpha-2']],
        [cmp('createdAt', '=in=', '1000', '6000', 'x'), ['alpha-1', 'betaX1']],
        [cmp('createdAt', '=out=', '1000', '6000'), ['alpha-2', 'beta_1', 'gamma\\1', 'delta']],
        [cmp('createdAt', '==', 'abc'), []],
        [cmp('createdAt', '==', ''), []],
        [cmp('createdAt', '!=', 'abc'), all],
        [cmp('createdAt', '<', 'abc'), []],
        [cmp('lastContactAt', '>', '0'), []],
        [cmp('lastContactAt', '!=', '0'), all],
      ];
      for (const [filter, expected] of cases)
        expect({ filter, got: await ids(store, { filter }) }).toEqual({ filter, got: expected });
    });

    it('combines and/or', async () => {
      const store = await seeded(factory);
      const filter = and(
        or(cmp('name', '==', 'alpha*'), cmp('name', '==', 'delta')),
        cmp('createdAt', '>', '1000'),
      );
      expect(await ids(store, { filter })).toEqual(['alpha-2', 'delta']);
      const either = or(
        and(cmp('name', '==', 'beta*'), cmp('description', '==', '*_*')),
        cmp('controllerId', '==', 'delta'),
      );
      expect(await ids(store, { filter: either })).toEqual(['beta_1', 'delta']);
    });

    it('sorts by code point, empty values last ascending and first descending, then pages', async () => {
      const store = await seeded(factory);
      expect(await ids(store, { sort: [asc('name')] })).toEqual([
        'alpha-1',
        'beta_1',
        'betaX1',
        'delta',
        'gamma\\1',
        'alpha-2',
      ]);
      expect(await ids(store, { sort: [desc('description')] })).toEqual([
        'alpha-2',
        'betaX1',
        'delta',
        'gamma\\1',
        'beta_1',
        'alpha-1',
      ]);
      expect(await ids(store, { sort: [asc('updateStatus'), desc('createdAt')] })).toEqual(
        FLEET.map((t) => t.controllerId).reverse(),
      );
      const page = await store.listTargets({ sort: [asc('createdAt')], offset: 2, limit: 2 });
      expect(page.total).toBe(6);
      expect(page.items.map((t) => t.controllerId)).toEqual(['beta_1', 'gamma\\1']);
      expect(await store.listTargets({ limit: 0 })).toEqual({ items: [], total: 6 });
      const filtered = await store.listTargets({
        filter: cmp('name', '==', '*E*'),
        sort: [desc('controllerId')],
        offset: 1,
        limit: 2,
      });
      expect(filtered.total).toBe(5);
      expect(filtered.items.map((t) => t.controllerId)).toEqual(['delta', 'beta_1']);
      expect((await store.listTargets({ offset: 99, limit: 5 })).items).toEqual([]);
    });

    it('refuses unknown fields, in the filter and in the sort, even on an empty store', async () => {
      const store = await factory();
      await invalid(store.listTargets({ filter: cmp('nope', '==', 'x') }));
      await invalid(store.listTargets({ filter: cmp('attribute', '==', 'x') }));
      await invalid(store.listTargets({ filter: cmp('__proto__', '==', 'x') }));
      await invalid(store.listTargets({ sort: [asc('name; DROP TABLE targets')] }));
      await invalid(store.listActions({ filter: cmp('record', '==', 'x') }));
      await invalid(store.listSoftwareModules({ sort: [asc('revision')] }));
      await invalid(store.listDistributionSets({ filter: cmp('modules', '==', '1') }));
    });

    it('binds every value: injection through each field finds nothing and changes nothing', async () => {
      const store = await seeded(factory);
      const service = new UpdateService({ store, clock: () => 7_000 });
      const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
      const set = await service.createDistributionSet({
        name: 'fw',
        version: '1',
        modules: [module.id],
      });
      await service.assign(set.id, [{ controllerId: 'alpha-1' }]);
      const lists: [(q: PageQuery) => Promise<{ total: number }>, string[]][] = [
        [
          (q) => store.listTargets(q),
          [
            'controllerId',
            'name',
            'description',
            'updateStatus',
            'address',
            'ipAddress',
            'channel',
            'attribute.hw.rev',
            "attribute.x'--",
          ],
        ],
        [
          (q) => store.listActions(q),
          ['controllerId', 'status', 'distributionSetName', 'distributionSetVersion'],
        ],
        [(q) => store.listSoftwareModules(q), ['type', 'name', 'version', 'vendor', 'description']],
        [(q) => store.listDistributionSets(q), ['type', 'name', 'version', 'description']],
      ];
      for (const [list, fields] of lists)
        for (const field of fields)
          for (const value of INJECTIONS) {
            // Every operator runs (no SQL error) whatever the value holds.
            for (const op of ['!=', '<', '>=', '=in=', '=out='])
              expect((await list({ filter: cmp(field, op, value) })).total).toBeGreaterThanOrEqual(
                0,
              );
            expect((await list({ filter: cmp(field, '==', value) })).total).toBe(0);
            expect((await list({ filter: cmp(field, '==', `*${value}`) })).total).toBe(0);
          }
      expect((await store.listTargets()).total).toBe(FLEET.length);
      expect((await store.listActions()).total).toBe(1);
    });

    it('lists actions globally and of one target, filtered and sorted', async () => {
      const store = await seeded(factory);
      const service = new UpdateService({ store, clock: () => 7_000 });
      const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
      const one = await service.createDistributionSet({
        name: 'fw',
        version: '1',
        modules: [module.id],
      });
      const two = await service.createDistributionSet({
        name: 'Fw',
        version: '2',
        modules: [module.id],
      });
      await service.assign(one.id, [{ controllerId: 'alpha-1' }, { controllerId: 'alpha-2' }]);
      await service.assign(two.id, [{ controllerId: 'alpha-1' }]);
      const all = await store.listActions({ sort: [desc('id')] });
      expect(all.total).toBe(3);
      const [newest] = all.items;
      expect(newest?.controllerId).toBe('alpha-1');
      const active = await store.listActions({ filter: cmp('active', '==', 'TRUE') });
      const closed = await store.listActions({ filter: cmp('active', '==', 'false') });
      expect(active.total + closed.total).toBe(3);
      expect((await store.listActions({ filter: cmp('active', '==', 'yes') })).total).toBe(0);
      expect((await store.listActions({ filter: cmp('active', '!=', 'yes') })).total).toBe(3);
      expect(
        (await store.listActions({ filter: cmp('distributionSetVersion', '=in=', '2') })).total,
      ).toBe(1);
      expect(
        (await store.listActions({ filter: cmp('distributionSetName', '==', 'FW') })).total,
      ).toBe(3);
      expect(
        (await store.listActions({ filter: cmp('distributionSetId', '==', String(two.id)) })).total,
      ).toBe(1);
      expect((await store.listActions({ filter: cmp('id', '>', '1') })).total).toBe(2);
      // Rollout membership and a device's report after its restart are list fields too.
      await service.setActionRef(newest!.id, INSTALLED_REPORT_REF, '1');
      expect(
        (await store.listActions({ filter: cmp('installedReported', '==', 'true') })).total,
      ).toBe(1);
      expect(
        (await store.listActions({ filter: cmp('installedReported', '==', 'false') })).total,
      ).toBe(2);
      expect((await store.listActions({ filter: cmp('rolloutGroupId', '==', '5') })).total).toBe(0);
      expect((await store.listActions({ filter: cmp('id', '==', '1*') })).total).toBe(0);
      const ofOne = await store.listActions({ sort: [desc('id')], limit: 1 }, 'alpha-1');
      expect(ofOne.total).toBe(2);
      expect(ofOne.items.map((a) => a.id)).toEqual([newest?.id]);
      // The scope is exact: not case-folded, no wildcard.
      expect((await store.listActions({}, 'ALPHA-1')).total).toBe(0);
      expect((await store.listActions({}, 'alpha*')).total).toBe(0);
      expect((await store.listActions({ filter: cmp('controllerId', '==', 'ALPHA*') })).total).toBe(
        3,
      );
    });

    it('filters modules and sets, and finds a module by type, name and version', async () => {
      const store = await factory();
      const service = new UpdateService({ store, clock: () => 7_000 });
      const os = await service.createSoftwareModule({
        type: 'os',
        name: 'Linux',
        version: '1.0',
        vendor: 'ACME_x',
      });
      const app = await service.createSoftwareModule({
        type: 'application',
        name: 'linux',
        version: '1.10',
      });
      await service.createSoftwareModule({ type: 'os', name: 'linux', version: '2.0' });
      expect(await store.findSoftwareModule('os', 'Linux', '1.0')).toEqual(os);
      expect(await store.findSoftwareModule('os', 'linux', '1.0')).toBeUndefined();
      expect(await store.findSoftwareModule('application', 'linux', '1.10')).toEqual(app);
      expect(await store.findSoftwareModule('os', 'Linux%', '1.0')).toBeUndefined();
      const names = async (q: PageQuery) =>
        (await store.listSoftwareModules(q)).items.map((m) => `${m.type}/${m.name}/${m.version}`);
      expect(await names({ filter: cmp('vendor', '==', 'acme_*') })).toEqual(['os/Linux/1.0']);
      expect(await names({ filter: cmp('vendor', '==', 'acme%*') })).toEqual([]);
      expect(await names({ filter: cmp('version', '>=', '1.1') })).toEqual([
        'application/linux/1.10',
        'os/linux/2.0',
      ]);
      expect(await names({ filter: cmp('name', '==', 'LINUX'), sort: [desc('version')] })).toEqual([
        'os/linux/2.0',
        'application/linux/1.10',
        'os/Linux/1.0',
      ]);
      expect(
        await names({ filter: cmp('id', '=in=', String(os.id), String(app.id)) }),
      ).toHaveLength(2);
      const a = await service.createDistributionSet({
        name: 'Set',
        version: '1',
        modules: [os.id],
      });
      await service.createDistributionSet({
        name: 'set',
        version: '2',
        modules: [os.id],
        requiredMigrationStep: true,
      });
      const sets = async (q: PageQuery) =>
        (await store.listDistributionSets(q)).items.map((s) => s.version);
      expect(await sets({ filter: cmp('requiredMigrationStep', '==', 'true') })).toEqual(['2']);
      expect(await sets({ filter: cmp('name', '==', 'SET'), sort: [desc('version')] })).toEqual([
        '2',
        '1',
      ]);
      expect(await sets({ filter: cmp('type', '==', 'os_app'), limit: 1 })).toEqual(['1']);
      expect(await sets({ filter: cmp('id', '!=', String(a.id)) })).toEqual(['2']);
    });
  });
}
