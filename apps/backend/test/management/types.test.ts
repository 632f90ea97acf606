import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/server.js';
import { call, seed, startTestBackend } from '../helpers.js';

let backend: Backend;
beforeAll(async () => {
  backend = await startTestBackend({ store: 'memory' });
});
afterAll(async () => {
  await backend?.close();
});

describe('software module types', () => {
  it('has hawkBit defaults, and creates, reads, updates and deletes types', async () => {
    const list = await call(backend, 'GET', '/rest/v1/softwaremoduletypes');
    expect(list.json.content.map((t: { key: string; id: number }) => [t.id, t.key])).toEqual([
      [1, 'os'],
      [2, 'application'],
    ]);
    const created = await call(backend, 'POST', '/rest/v1/softwaremoduletypes', [
      { name: 'Bootloader', key: 'bootloader', maxAssignments: 1, description: 'boot' },
    ]);
    expect(created.status).toBe(201);
    const [boot] = created.json;
    expect(boot).toMatchObject({
      key: 'bootloader',
      maxAssignments: 1,
      deleted: false,
      createdBy: 'admin',
    });
    expect(
      (
        await call(backend, 'POST', '/rest/v1/softwaremoduletypes', [
          { name: 'x', key: 'bootloader' },
        ])
      ).status,
    ).toBe(409);
    expect(
      (
        await call(backend, 'POST', '/rest/v1/softwaremoduletypes', [
          { name: 'Bootloader', key: 'y' },
        ])
      ).status,
    ).toBe(409);
    const updated = await call(backend, 'PUT', `/rest/v1/softwaremoduletypes/${boot.id}`, {
      description: 'u-boot',
      colour: '#fff',
    });
    expect(updated.json).toMatchObject({
      description: 'u-boot',
      colour: '#fff',
      key: 'bootloader',
    });
    expect(
      (await call(backend, 'GET', '/rest/v1/softwaremoduletypes?q=key==boot*')).json.total,
    ).toBe(1);
    // A module of the new type can be created; deleting the type is soft then.
    const sm = await call(backend, 'POST', '/rest/v1/softwaremodules', [
      { name: 'uboot', version: '1', type: 'bootloader' },
    ]);
    expect(sm.status).toBe(201);
    expect(sm.json[0].typeName).toBe('Bootloader');
    expect((await call(backend, 'DELETE', `/rest/v1/softwaremoduletypes/${boot.id}`)).status).toBe(
      204,
    );
    expect(
      (await call(backend, 'GET', `/rest/v1/softwaremoduletypes/${boot.id}`)).json.deleted,
    ).toBe(true);
    expect(
      (
        await call(backend, 'POST', '/rest/v1/softwaremodules', [
          { name: 'u2', version: '1', type: 'bootloader' },
        ])
      ).status,
    ).toBe(404);
    const unused = await call(backend, 'POST', '/rest/v1/softwaremoduletypes', [
      { name: 'Tmp', key: 'tmp' },
    ]);
    expect(
      (await call(backend, 'DELETE', `/rest/v1/softwaremoduletypes/${unused.json[0].id}`)).status,
    ).toBe(204);
    expect(
      (await call(backend, 'GET', `/rest/v1/softwaremoduletypes/${unused.json[0].id}`)).status,
    ).toBe(404);
  });
});

describe('distribution set types', () => {
  it('defines mandatory and optional module types that decide completeness and what fits', async () => {
    const defaults = await call(backend, 'GET', '/rest/v1/distributionsettypes?sort=id:ASC');
    expect(defaults.json.content.map((t: { key: string }) => t.key)).toEqual([
      'os',
      'app',
      'os_app',
    ]);
    const osApp = defaults.json.content[2];
    const mandatory = await call(
      backend,
      'GET',
      `/rest/v1/distributionsettypes/${osApp.id}/mandatorymoduletypes`,
    );
    expect(mandatory.json.map((t: { key: string }) => t.key)).toEqual(['os']);
    const optional = await call(
      backend,
      'GET',
      `/rest/v1/distributionsettypes/${osApp.id}/optionalmoduletypes/2`,
    );
    expect(optional.json.key).toBe('application');

    const [fw] = (
      await call(backend, 'POST', '/rest/v1/softwaremoduletypes', [
        { name: 'Firmware', key: 'firmware' },
      ])
    ).json;
    const created = await call(backend, 'POST', '/rest/v1/distributionsettypes', [
      {
        name: 'FW + app',
        key: 'fw_app',
        mandatorymodules: [{ id: fw.id }],
        optionalmodules: [{ id: 2 }],
      },
    ]);
    expect(created.status).toBe(201);
    const type = created.json[0];
    expect(
      (
        await call(backend, 'POST', '/rest/v1/distributionsettypes', [
          { name: 'x', key: 'y', mandatorymodules: [{ id: 999 }] },
        ])
      ).status,
    ).toBe(404);
    // A set of the type without its mandatory module is incomplete, and cannot be assigned.
    const [app] = (
      await call(backend, 'POST', '/rest/v1/softwaremodules', [
        { name: 'app', version: '1', type: 'application' },
      ])
    ).json;
    const [set] = (
      await call(backend, 'POST', '/rest/v1/distributionsets', [
        { name: 'fwapp', version: '1', type: 'fw_app', modules: [{ id: app.id }] },
      ])
    ).json;
    expect(set).toMatchObject({ complete: false, typeName: 'FW + app' });
    await seed(backend, ['typed-0'], 'unused-types');
    expect(
      (await call(backend, 'POST', '/rest/v1/targets/typed-0/assignedDS', [{ id: set.id }])).status,
    ).toBe(400);
    // An os module does not fit it.
    const [os] = (
      await call(backend, 'POST', '/rest/v1/softwaremodules', [
        { name: 'os', version: '9', type: 'os' },
      ])
    ).json;
    expect(
      (
        await call(backend, 'POST', `/rest/v1/distributionsets/${set.id}/assignedSM`, [
          { id: os.id },
        ])
      ).status,
    ).toBe(400);
    const [fwModule] = (
      await call(backend, 'POST', '/rest/v1/softwaremodules', [
        { name: 'fw', version: '1', type: 'firmware' },
      ])
    ).json;
    expect(
      (
        await call(backend, 'POST', `/rest/v1/distributionsets/${set.id}/assignedSM`, [
          { id: fwModule.id },
        ])
      ).status,
    ).toBe(204);
    expect((await call(backend, 'GET', `/rest/v1/distributionsets/${set.id}`)).json.complete).toBe(
      true,
    );
    // In use by a set: its module types are read only (403), and deleting it is soft.
    const add = await call(
      backend,
      'POST',
      `/rest/v1/distributionsettypes/${type.id}/optionalmoduletypes`,
      { id: 1 },
    );
    expect(add.status).toBe(403);
    expect(
      (
        await call(
          backend,
          'DELETE',
          `/rest/v1/distributionsettypes/${type.id}/mandatorymoduletypes/${fw.id}`,
        )
      ).status,
    ).toBe(403);
    expect((await call(backend, 'DELETE', `/rest/v1/distributionsettypes/${type.id}`)).status).toBe(
      204,
    );
    expect(
      (await call(backend, 'GET', `/rest/v1/distributionsettypes/${type.id}`)).json.deleted,
    ).toBe(true);
    // An unused type's module types change freely.
    const [spare] = (
      await call(backend, 'POST', '/rest/v1/distributionsettypes', [
        { name: 'Spare', key: 'spare' },
      ])
    ).json;
    expect(
      (
        await call(
          backend,
          'POST',
          `/rest/v1/distributionsettypes/${spare.id}/mandatorymoduletypes`,
          { id: 1 },
        )
      ).status,
    ).toBe(204);
    expect(
      (
        await call(
          backend,
          'GET',
          `/rest/v1/distributionsettypes/${spare.id}/mandatorymoduletypes/1`,
        )
      ).json.key,
    ).toBe('os');
    expect(
      (
        await call(
          backend,
          'DELETE',
          `/rest/v1/distributionsettypes/${spare.id}/mandatorymoduletypes/1`,
        )
      ).status,
    ).toBe(204);
    expect(
      (
        await call(
          backend,
          'GET',
          `/rest/v1/distributionsettypes/${spare.id}/mandatorymoduletypes/1`,
        )
      ).status,
    ).toBe(404);
  });
});

describe('target types', () => {
  it('decide which sets a target accepts, on assignment and in rollouts', async () => {
    const { setId: osSet } = await seed(backend, ['typed-1', 'typed-2', 'typed-3'], 'typed');
    const created = await call(backend, 'POST', '/rest/v1/targettypes', [
      { name: 'gateway', key: 'gw', compatibledistributionsettypes: [{ id: 2 }] },
    ]);
    expect(created.status).toBe(201);
    const gw = created.json[0];
    expect(gw._links.compatibledistributionsettypes.href).toContain(
      `/rest/v1/targettypes/${gw.id}/compatibledistributionsettypes`,
    );
    expect(
      (await call(backend, 'POST', '/rest/v1/targets/typed-1/targettype', { id: gw.id })).status,
    ).toBe(204);
    expect(
      (await call(backend, 'POST', '/rest/v1/targets/typed-1/targettype', { id: 999 })).status,
    ).toBe(404);
    const target = await call(backend, 'GET', '/rest/v1/targets/typed-1');
    expect(target.json).toMatchObject({ targetType: gw.id, targetTypeName: 'gateway' });
    const byType = await call(backend, 'GET', `/rest/v1/targets?q=targettype.id==${gw.id}`);
    expect(byType.json.content.map((t: { controllerId: string }) => t.controllerId)).toEqual([
      'typed-1',
    ]);
    // The set's type (os) is not compatible with gateway targets: 400, nothing assigned.
    const refused = await call(backend, 'POST', '/rest/v1/targets/typed-1/assignedDS', [
      { id: osSet },
    ]);
    expect(refused.status).toBe(400);
    expect(refused.json.errorCode).toBe('hawkbit.server.error.target.type.incompatible');
    const many = await call(backend, 'POST', `/rest/v1/distributionsets/${osSet}/assignedTargets`, [
      { id: 'typed-2' },
      { id: 'typed-1' },
    ]);
    expect(many.status).toBe(400);
    expect((await call(backend, 'GET', '/rest/v1/targets/typed-2/actions')).json.total).toBe(0);
    // A rollout leaves incompatible targets out.
    const rollout = await call(backend, 'POST', '/rest/v1/rollouts', {
      name: 'typed',
      distributionSetId: osSet,
      targetFilterQuery: 'controllerId=in=(typed-1,typed-2,typed-3)',
    });
    expect(rollout.json.totalTargets).toBe(2);
    // Made compatible, the target takes the set.
    expect(
      (
        await call(
          backend,
          'POST',
          `/rest/v1/targettypes/${gw.id}/compatibledistributionsettypes`,
          [{ id: 1 }],
        )
      ).status,
    ).toBe(204);
    const compatible = await call(
      backend,
      'GET',
      `/rest/v1/targettypes/${gw.id}/compatibledistributionsettypes`,
    );
    expect(compatible.json.map((t: { key: string }) => t.key).sort()).toEqual(['app', 'os']);
    expect(
      (await call(backend, 'POST', '/rest/v1/targets/typed-1/assignedDS', [{ id: osSet }])).status,
    ).toBe(200);
    expect(
      (
        await call(
          backend,
          'DELETE',
          `/rest/v1/targettypes/${gw.id}/compatibledistributionsettypes/2`,
        )
      ).status,
    ).toBe(204);
    // In use: 409; unassigned, it can go.
    const inUse = await call(backend, 'DELETE', `/rest/v1/targettypes/${gw.id}`);
    expect(inUse.status).toBe(409);
    expect(inUse.json.errorCode).toBe('hawkbit.server.error.target.type.used');
    expect((await call(backend, 'DELETE', '/rest/v1/targets/typed-1/targettype')).status).toBe(204);
    expect(
      (await call(backend, 'GET', '/rest/v1/targets/typed-1')).json.targetType,
    ).toBeUndefined();
    const renamed = await call(backend, 'PUT', `/rest/v1/targettypes/${gw.id}`, {
      name: 'edge gateway',
    });
    expect(renamed.json.name).toBe('edge gateway');
    expect((await call(backend, 'DELETE', `/rest/v1/targettypes/${gw.id}`)).status).toBe(204);
    // Created with a type, and PUT with one.
    const [t2] = (await call(backend, 'POST', '/rest/v1/targettypes', [{ name: 'sensor' }])).json;
    const made = await call(backend, 'POST', '/rest/v1/targets', [
      { controllerId: 'typed-9', targetType: t2.id },
    ]);
    expect(made.json[0]).toMatchObject({ targetType: t2.id, targetTypeName: 'sensor' });
    expect(
      (
        await call(backend, 'POST', '/rest/v1/targets', [
          { controllerId: 'typed-8', targetType: 999 },
        ])
      ).status,
    ).toBe(404);
    const put = await call(backend, 'PUT', '/rest/v1/targets/typed-9', { targetType: -1 });
    expect(put.json.targetType).toBeUndefined();
    expect((await call(backend, 'GET', '/rest/v1/targettypes?q=name==sens*')).json.total).toBe(1);
  });
});
