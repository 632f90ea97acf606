import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/server.js';
import { call, ddi, deviceAction, finishAction, seed, startTestBackend } from '../helpers.js';

let backend: Backend;
let setId: number;
let set2: number;
beforeAll(async () => {
  backend = await startTestBackend({ store: 'memory' });
  ({ setId } = await seed(backend, ['op-1', 'op-2', 'op-3', 'op-4'], 'ops'));
  ({ setId: set2 } = await seed(backend, [], 'ops-next'));
});
afterAll(async () => {
  await backend?.close();
});

const assign = (target: string, set: number, extra: Record<string, unknown> = {}) =>
  call(backend, 'POST', `/rest/v1/targets/${target}/assignedDS`, [{ id: set, ...extra }]);
const actionsOf = async (target: string) =>
  (await call(backend, 'GET', `/rest/v1/targets/${target}/actions`)).json;

describe('per-target action operations', () => {
  it('switches a soft action to forced, and the device sees it forced', async () => {
    await assign('op-1', setId, { type: 'soft' });
    const id = await deviceAction(backend, 'op-1');
    const before = await ddi(backend, 'op-1', `/deploymentBase/${id}`);
    expect(before.deployment.update).toBe('attempt');
    const bad = await call(backend, 'PUT', `/rest/v1/targets/op-1/actions/${id}`, {
      forceType: 'soft',
    });
    expect(bad.status).toBe(400);
    const forced = await call(backend, 'PUT', `/rest/v1/targets/op-1/actions/${id}`, {
      forceType: 'forced',
    });
    expect(forced.status).toBe(200);
    expect(forced.json).toMatchObject({ id, forceType: 'forced' });
    const after = await ddi(backend, 'op-1', `/deploymentBase/${id}`);
    expect(after.deployment.update).toBe('forced');
    expect(
      (await call(backend, 'PUT', `/rest/v1/targets/op-2/actions/${id}`, { forceType: 'forced' }))
        .status,
    ).toBe(404);
    expect(
      (await call(backend, 'PUT', '/rest/v1/targets/op-1/actions/999999', { forceType: 'forced' }))
        .status,
    ).toBe(404);
  });

  it('confirms and denies for a user an action that waits for confirmation', async () => {
    await assign('op-2', setId, { confirmationRequired: true });
    const [waiting] = (await actionsOf('op-2')).content;
    expect(waiting.status).toBe('wait_for_confirmation');
    const path = `/rest/v1/targets/op-2/actions/${waiting.id}/confirmation`;
    expect((await call(backend, 'PUT', path, { confirmation: 'maybe' })).status).toBe(400);
    const denied = await call(backend, 'PUT', path, {
      confirmation: 'Denied',
      code: 5,
      details: ['not now'],
    });
    expect(denied.status).toBe(204);
    expect((await actionsOf('op-2')).content[0].status).toBe('wait_for_confirmation');
    const history = await call(
      backend,
      'GET',
      `/rest/v1/targets/op-2/actions/${waiting.id}/status`,
    );
    expect(JSON.stringify(history.json.content)).toContain('not now');
    expect((await call(backend, 'PUT', path, { confirmation: 'confirmed' })).status).toBe(204);
    expect((await actionsOf('op-2')).content[0].status).toBe('running');
    // Not waiting any more: 404; ended: 410.
    expect((await call(backend, 'PUT', path, { confirmation: 'confirmed' })).status).toBe(404);
    await finishAction(backend, 'op-2', 'success');
    expect((await call(backend, 'PUT', path, { confirmation: 'confirmed' })).status).toBe(410);
  });

  it('turns auto-confirm on and off; turning it on confirms what waits', async () => {
    const off = await call(backend, 'GET', '/rest/v1/targets/op-3/autoConfirm');
    expect(off.json).toMatchObject({ active: false });
    expect(off.json._links.activate.href).toContain('/rest/v1/targets/op-3/autoConfirm/activate');
    await assign('op-3', setId, { confirmationRequired: true });
    expect((await actionsOf('op-3')).content[0].status).toBe('wait_for_confirmation');
    const on = await call(backend, 'POST', '/rest/v1/targets/op-3/autoConfirm/activate', {
      initiator: 'ops-team',
      remark: 'night window',
    });
    expect(on.status).toBe(204);
    expect((await call(backend, 'GET', '/rest/v1/targets/op-3/autoConfirm')).json).toMatchObject({
      active: true,
      initiator: 'ops-team',
      remark: 'night window',
    });
    expect((await actionsOf('op-3')).content[0].status).toBe('running');
    expect((await call(backend, 'POST', '/rest/v1/targets/op-3/autoConfirm/activate')).status).toBe(
      409,
    );
    expect(
      (await call(backend, 'POST', '/rest/v1/targets/op-3/autoConfirm/deactivate')).status,
    ).toBe(204);
    expect((await call(backend, 'GET', '/rest/v1/targets/op-3/autoConfirm')).json.active).toBe(
      false,
    );
    expect((await call(backend, 'GET', '/rest/v1/targets/nobody/autoConfirm')).status).toBe(404);
  });

  it('deletes ended actions of a target, keeping the newest N or by ids; open ones are refused', async () => {
    for (let i = 0; i < 3; i++) {
      await assign('op-4', i % 2 === 0 ? setId : set2);
      await finishAction(backend, 'op-4', 'failure');
    }
    await assign('op-4', setId);
    const all = (await actionsOf('op-4')).content
      .map((a: { id: number }) => a.id)
      .sort((a: number, b: number) => a - b);
    expect(all).toHaveLength(4);
    const open = all[3];
    // Neither or both of keepLast and a body: 400.
    expect((await call(backend, 'DELETE', '/rest/v1/targets/op-4/actions')).status).toBe(400);
    expect(
      (await call(backend, 'DELETE', '/rest/v1/targets/op-4/actions?keepLast=1', [all[0]])).status,
    ).toBe(400);
    // The open action is not deletable: 405, and nothing was deleted.
    const refused = await call(backend, 'DELETE', '/rest/v1/targets/op-4/actions', [all[0], open]);
    expect(refused.status).toBe(405);
    expect(refused.json.errorCode).toBe('hawkbit.server.error.action.notDeletable');
    expect((await actionsOf('op-4')).total).toBe(4);
    expect((await call(backend, 'DELETE', '/rest/v1/targets/op-4/actions', [all[0]])).status).toBe(
      204,
    );
    expect((await actionsOf('op-4')).total).toBe(3);
    expect((await call(backend, 'DELETE', '/rest/v1/targets/op-4/actions?keepLast=2')).status).toBe(
      204,
    );
    const left = (await actionsOf('op-4')).content
      .map((a: { id: number }) => a.id)
      .sort((a: number, b: number) => a - b);
    expect(left).toEqual([all[2], open]);
    expect(
      (await call(backend, 'GET', `/rest/v1/targets/op-4/actions/${all[1]}/status`)).status,
    ).toBe(404);
  });
});

describe('global action operations', () => {
  it('deletes by id and by filter, only ended actions, all or none', async () => {
    const { setId: s } = await seed(backend, ['ga-1', 'ga-2', 'ga-3'], 'global');
    for (const t of ['ga-1', 'ga-2', 'ga-3']) await assign(t, s);
    await finishAction(backend, 'ga-1', 'success');
    await finishAction(backend, 'ga-2', 'failure');
    const ids = async (t: string) => (await actionsOf(t)).content[0].id as number;
    const [a1, a2, a3] = [await ids('ga-1'), await ids('ga-2'), await ids('ga-3')];
    expect((await call(backend, 'DELETE', `/rest/v1/actions/${a3}`)).status).toBe(405);
    expect((await call(backend, 'DELETE', '/rest/v1/actions/999999')).status).toBe(404);
    expect((await call(backend, 'DELETE', `/rest/v1/actions/${a1}`)).status).toBe(204);
    expect((await call(backend, 'GET', `/rest/v1/actions/${a1}`)).status).toBe(404);
    // A filter that matches an open action deletes nothing.
    const wide = await call(backend, 'DELETE', '/rest/v1/actions?q=target.controllerId==ga-*');
    expect(wide.status).toBe(405);
    expect((await call(backend, 'GET', `/rest/v1/actions/${a2}`)).status).toBe(200);
    expect(
      (await call(backend, 'DELETE', '/rest/v1/actions?q=status==error;target.controllerId==ga-*'))
        .status,
    ).toBe(204);
    expect((await call(backend, 'GET', `/rest/v1/actions/${a2}`)).status).toBe(404);
    expect((await call(backend, 'DELETE', '/rest/v1/actions', [a3])).status).toBe(405);
    expect((await call(backend, 'DELETE', '/rest/v1/actions')).status).toBe(400);
    expect((await call(backend, 'DELETE', '/rest/v1/actions?q=id==1', [a3])).status).toBe(400);
  });
});
