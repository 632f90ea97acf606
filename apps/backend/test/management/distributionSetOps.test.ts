import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/server.js';
import { call, finishAction, seed, startTestBackend } from '../helpers.js';

let backend: Backend;
beforeAll(async () => {
  backend = await startTestBackend({ store: 'memory' });
});
afterAll(async () => {
  await backend?.close();
});

async function module(name: string, type = 'os') {
  const sm = await call(backend, 'POST', '/rest/v1/softwaremodules', [
    { name, version: '1', type },
  ]);
  return sm.json[0].id as number;
}
async function set(name: string, modules: number[], type = 'os_app') {
  const ds = await call(backend, 'POST', '/rest/v1/distributionsets', [
    { name, version: '1', type, modules: modules.map((id) => ({ id })) },
  ]);
  return ds.json[0].id as number;
}

describe('distribution set modules', () => {
  it('lists, adds and removes modules; a set is locked once assigned (423), and by hand', async () => {
    const os = await module('mods-os');
    const app1 = await module('mods-app1', 'application');
    const app2 = await module('mods-app2', 'application');
    const id = await set('mods', [os]);
    const path = `/rest/v1/distributionsets/${id}/assignedSM`;
    expect((await call(backend, 'POST', path, [{ id: app1 }, { id: app2 }])).status).toBe(204);
    const listed = await call(backend, 'GET', `${path}?sort=name:DESC&limit=2`);
    expect(listed.json).toMatchObject({ total: 3, size: 2 });
    expect(listed.json.content.map((m: { name: string }) => m.name)).toEqual([
      'mods-os',
      'mods-app2',
    ]);
    expect((await call(backend, 'GET', `${path}?q=type==application`)).json.total).toBe(2);
    expect((await call(backend, 'DELETE', `${path}/${app2}`)).status).toBe(204);
    expect((await call(backend, 'DELETE', `${path}/${app2}`)).status).toBe(404);
    // os allows one module: a second replaces the first, as hawkBit; an unknown module is 404.
    const os2 = await module('mods-os2');
    expect((await call(backend, 'POST', path, [{ id: os2 }])).status).toBe(204);
    const replaced = (await call(backend, 'GET', path)).json.content.map(
      (m: { id: number }) => m.id,
    );
    expect(replaced.sort()).toEqual([app1, os2].sort());
    await call(backend, 'POST', path, [{ id: os }]);
    expect((await call(backend, 'POST', path, [{ id: 999_999 }])).status).toBe(404);
    expect((await call(backend, 'GET', path)).json.total).toBe(2);
    const db = await call(backend, 'POST', '/rest/v1/softwaremoduletypes', [
      { name: 'DB', key: 'db' },
    ]);
    expect(db.status).toBe(201);
    const dbModule = await module('mods-db', 'db');
    expect((await call(backend, 'POST', path, [{ id: dbModule }])).status).toBe(400);

    await seed(backend, ['lock-1'], 'unused');
    await call(backend, 'POST', '/rest/v1/targets/lock-1/assignedDS', [{ id }]);
    const locked = await call(backend, 'GET', `/rest/v1/distributionsets/${id}`);
    expect(locked.json).toMatchObject({ locked: true, valid: true, deleted: false });
    const refused = await call(backend, 'POST', path, [{ id: app2 }]);
    expect(refused.status).toBe(423);
    expect(refused.json.errorCode).toBe('hawkbit.server.error.locked');
    expect((await call(backend, 'DELETE', `${path}/${app1}`)).status).toBe(423);
    // Its modules are locked too: their artifacts no longer change.
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('late')]), 'late.bin');
    const upload = await fetch(`${backend.url}/rest/v1/softwaremodules/${os}/artifacts`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
      body: form,
    });
    expect(upload.status).toBe(423);
    // Unlocked by hand (hawkBit 0.10+), the set's modules may change again.
    const unlocked = await call(backend, 'PUT', `/rest/v1/distributionsets/${id}`, {
      locked: false,
    });
    expect(unlocked.json.locked).toBe(false);
    expect((await call(backend, 'POST', path, [{ id: app2 }])).status).toBe(204);
  });
});

describe('targets of a set, statistics, invalidation and deletion', () => {
  it('lists assigned and installed targets in the store, with RSQL', async () => {
    const { setId } = await seed(backend, ['at-1', 'at-2', 'at-3'], 'targets-of');
    await call(backend, 'POST', `/rest/v1/distributionsets/${setId}/assignedTargets`, [
      { id: 'at-1' },
      { id: 'at-2' },
    ]);
    await finishAction(backend, 'at-1', 'success');
    const assigned = await call(
      backend,
      'GET',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
    );
    expect(assigned.json.content.map((t: { controllerId: string }) => t.controllerId)).toEqual([
      'at-1',
      'at-2',
    ]);
    const filtered = await call(
      backend,
      'GET',
      `/rest/v1/distributionsets/${setId}/assignedTargets?q=controllerId==at-2`,
    );
    expect(filtered.json.total).toBe(1);
    const installed = await call(
      backend,
      'GET',
      `/rest/v1/distributionsets/${setId}/installedTargets`,
    );
    expect(installed.json.content.map((t: { controllerId: string }) => t.controllerId)).toEqual([
      'at-1',
    ]);
    expect(
      (await call(backend, 'GET', '/rest/v1/distributionsets/999999/installedTargets')).status,
    ).toBe(404);

    const stats = await call(backend, 'GET', `/rest/v1/distributionsets/${setId}/statistics`);
    expect(stats.json).toEqual({
      actions: { FINISHED: 1, RUNNING: 1, total: 2 },
      rollouts: { total: 0 },
      totalAutoAssignments: 0,
    });
    expect(
      (await call(backend, 'GET', `/rest/v1/distributionsets/${setId}/statistics/actions`)).json,
    ).toEqual({
      actions: { FINISHED: 1, RUNNING: 1, total: 2 },
    });
    expect(
      (await call(backend, 'GET', `/rest/v1/distributionsets/${setId}/statistics/rollouts`)).json,
    ).toEqual({});
    const filter = await call(backend, 'POST', '/rest/v1/targetfilters', {
      name: 'stats',
      query: 'controllerId==at-9*',
    });
    await call(backend, 'POST', `/rest/v1/targetfilters/${filter.json.id}/autoAssignDS`, {
      id: setId,
    });
    expect(
      (await call(backend, 'GET', `/rest/v1/distributionsets/${setId}/statistics/autoassignments`))
        .json,
    ).toEqual({
      totalAutoAssignments: 1,
    });
    const filters = await call(
      backend,
      'GET',
      `/rest/v1/distributionsets/${setId}/autoAssignTargetFilters`,
    );
    expect(filters.json).toMatchObject({ total: 1, content: [{ name: 'stats' }] });
  });

  it('invalidates a set: canceled actions, no auto-assignment, never assigned again', async () => {
    const { setId } = await seed(backend, ['inv-1', 'inv-2'], 'invalid');
    await call(backend, 'POST', `/rest/v1/distributionsets/${setId}/assignedTargets`, [
      { id: 'inv-1' },
    ]);
    const filter = await call(backend, 'POST', '/rest/v1/targetfilters', {
      name: 'inv',
      query: 'controllerId==inv-*',
    });
    await call(backend, 'POST', `/rest/v1/targetfilters/${filter.json.id}/autoAssignDS`, {
      id: setId,
    });
    const path = `/rest/v1/distributionsets/${setId}/invalidate`;
    expect((await call(backend, 'POST', path, { actionCancelationType: 'sometimes' })).status).toBe(
      400,
    );
    expect((await call(backend, 'POST', path, { actionCancelationType: 'soft' })).status).toBe(204);
    expect((await call(backend, 'GET', `/rest/v1/distributionsets/${setId}`)).json.valid).toBe(
      false,
    );
    const [action] = (await call(backend, 'GET', '/rest/v1/targets/inv-1/actions')).json.content;
    expect(action.status).toBe('canceling');
    expect(
      (await call(backend, 'GET', `/rest/v1/targetfilters/${filter.json.id}`)).json
        .autoAssignDistributionSet,
    ).toBeUndefined();
    const again = await call(backend, 'POST', '/rest/v1/targets/inv-2/assignedDS', [{ id: setId }]);
    expect(again.status).toBe(400);
    expect(again.json.errorCode).toBe('hawkbit.server.error.distributionset.invalid');
  });

  it('deletes an unused set for good, a used one softly; modules likewise', async () => {
    const os = await module('del-os');
    const unused = await set('del-unused', [os], 'os');
    expect((await call(backend, 'DELETE', `/rest/v1/distributionsets/${unused}`)).status).toBe(204);
    expect((await call(backend, 'GET', `/rest/v1/distributionsets/${unused}`)).status).toBe(404);
    // The module is in no set any more: deleted for good.
    expect((await call(backend, 'DELETE', `/rest/v1/softwaremodules/${os}`)).status).toBe(204);
    expect((await call(backend, 'GET', `/rest/v1/softwaremodules/${os}`)).status).toBe(404);

    const { setId, moduleId } = await seed(backend, ['del-1'], 'del-used');
    await call(backend, 'POST', '/rest/v1/targets/del-1/assignedDS', [{ id: setId }]);
    // The module is in a set: soft.
    expect((await call(backend, 'DELETE', `/rest/v1/softwaremodules/${moduleId}`)).status).toBe(
      204,
    );
    expect((await call(backend, 'GET', `/rest/v1/softwaremodules/${moduleId}`)).json.deleted).toBe(
      true,
    );
    expect((await call(backend, 'DELETE', `/rest/v1/distributionsets/${setId}`)).status).toBe(204);
    const soft = await call(backend, 'GET', `/rest/v1/distributionsets/${setId}`);
    expect(soft.json.deleted).toBe(true);
    const live = await call(
      backend,
      'GET',
      '/rest/v1/distributionsets?q=name==del-used;deleted==false',
    );
    expect(live.json.total).toBe(0);
    expect(
      (await call(backend, 'GET', '/rest/v1/distributionsets?q=name==del-used;deleted==true')).json
        .total,
    ).toBe(1);
    expect(
      (await call(backend, 'GET', '/rest/v1/softwaremodules?q=deleted==true;name==del-used')).json
        .total,
    ).toBe(1);
    // The device still sees what it was given; nothing new is assigned from a deleted set.
    expect((await call(backend, 'GET', '/rest/v1/targets/del-1/actions')).json.total).toBe(1);
    await seed(backend, ['del-2'], 'unused-2');
    const refused = await call(backend, 'POST', '/rest/v1/targets/del-2/assignedDS', [
      { id: setId },
    ]);
    expect(refused.status).toBe(404);
    expect(refused.json.errorCode).toBe('hawkbit.server.error.deleted');
    expect((await call(backend, 'DELETE', '/rest/v1/distributionsets/999999')).status).toBe(404);
  });
});
