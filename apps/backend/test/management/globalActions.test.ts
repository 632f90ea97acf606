import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/server.js';
import { call, seed, startTestBackend } from '../helpers.js';

let backend: Backend;
let actionIds: number[];
beforeAll(async () => {
  backend = await startTestBackend({ store: 'memory' });
  const { setId } = await seed(backend, ['ga-1', 'ga-2', 'ga-3'], 'global');
  const assigned = await call(
    backend,
    'POST',
    `/rest/v1/distributionsets/${setId}/assignedTargets`,
    [{ id: 'ga-1' }, { id: 'ga-2' }, { id: 'ga-3', type: 'soft' }],
  );
  actionIds = assigned.json.assignedActions.map((a: { id: number }) => a.id);
});
afterAll(async () => {
  await backend?.close();
});

describe('actions of every target', () => {
  it('lists every action, paged, filtered by RSQL and sorted', async () => {
    const all = await call(backend, 'GET', '/rest/v1/actions?limit=2');
    expect(all.status).toBe(200);
    expect(all.json).toMatchObject({ total: 3, size: 2 });
    expect(all.json.content.map((a: { id: number }) => a.id)).toEqual(actionIds.slice(0, 2));
    const one = await call(backend, 'GET', '/rest/v1/actions?q=target.controllerId==ga-2');
    expect(one.json.content.map((a: { id: number }) => a.id)).toEqual([actionIds[1]]);
    const desc = await call(backend, 'GET', '/rest/v1/actions?sort=id:DESC');
    expect(desc.json.content[0].id).toBe(actionIds[2]);
    const full = await call(backend, 'GET', '/rest/v1/actions?representation=full&limit=1');
    const compact = await call(backend, 'GET', '/rest/v1/actions?limit=1');
    expect(Object.keys(full.json.content[0]).length).toBeGreaterThanOrEqual(
      Object.keys(compact.json.content[0]).length,
    );
  });

  it('answers one action by id, 404 for an unknown one and 400 for a bad id or query', async () => {
    const got = await call(backend, 'GET', `/rest/v1/actions/${actionIds[2]}`);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ id: actionIds[2], forceType: 'soft', active: true });
    expect(got.json._links.self.href).toContain(`/actions/${actionIds[2]}`);
    expect((await call(backend, 'GET', '/rest/v1/actions/987654')).status).toBe(404);
    expect((await call(backend, 'GET', '/rest/v1/actions/abc')).status).toBe(400);
    const bad = await call(backend, 'GET', '/rest/v1/actions?q=nope==1');
    expect(bad.status).toBe(400);
  });
});
