import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/server.js';
import { call, seed, startTestBackend } from '../helpers.js';

let backend: Backend;
let setId: number;
beforeAll(async () => {
  backend = await startTestBackend({ store: 'memory' });
  ({ setId } = await seed(backend, ['tag-1', 'tag-2', 'tag-3'], 'tagged'));
});
afterAll(async () => {
  await backend?.close();
});

describe('target tags', () => {
  it('creates, lists, reads, updates and deletes tags with hawkBit shapes', async () => {
    const created = await call(backend, 'POST', '/rest/v1/targettags', [
      { name: 'eu', description: 'Europe', colour: '#00ff00' },
      { name: 'us' },
    ]);
    expect(created.status).toBe(201);
    const [eu] = created.json;
    expect(eu).toMatchObject({
      name: 'eu',
      description: 'Europe',
      colour: '#00ff00',
      createdBy: 'admin',
    });
    expect(eu._links.assignedTargets.href).toContain(`/rest/v1/targettags/${eu.id}/assigned`);
    const list = await call(backend, 'GET', '/rest/v1/targettags?q=name==e*');
    expect(list.json).toMatchObject({ total: 1, content: [{ name: 'eu' }] });
    const updated = await call(backend, 'PUT', `/rest/v1/targettags/${eu.id}`, {
      description: 'EU',
    });
    expect(updated.json).toMatchObject({ name: 'eu', description: 'EU' });
    const dup = await call(backend, 'POST', '/rest/v1/targettags', [{ name: 'us' }]);
    expect(dup.status).toBe(409);
    const rename = await call(backend, 'PUT', `/rest/v1/targettags/${eu.id}`, { name: 'us' });
    expect(rename.status).toBe(409);
    expect((await call(backend, 'GET', `/rest/v1/targettags/${eu.id}`)).json.name).toBe('eu');
    const us = created.json[1];
    expect((await call(backend, 'DELETE', `/rest/v1/targettags/${us.id}`)).status).toBe(200);
    expect((await call(backend, 'GET', `/rest/v1/targettags/${us.id}`)).status).toBe(404);
  });

  it('assigns and unassigns targets, by body (both forms) and by path', async () => {
    const [tag] = (await call(backend, 'POST', '/rest/v1/targettags', [{ name: 'canary' }])).json;
    const base = `/rest/v1/targettags/${tag.id}/assigned`;
    const assigned = await call(backend, 'POST', base, ['tag-1', { controllerId: 'tag-2' }]);
    expect(assigned.status).toBe(200);
    expect(assigned.json.map((t: { controllerId: string }) => t.controllerId)).toEqual([
      'tag-1',
      'tag-2',
    ]);
    expect((await call(backend, 'POST', `${base}/tag-3`)).status).toBe(200);
    // Again: nothing doubles.
    await call(backend, 'POST', base, ['tag-1']);
    const members = await call(backend, 'GET', `${base}?limit=2`);
    expect(members.json).toMatchObject({ total: 3, size: 2 });
    const tags = await call(backend, 'GET', '/rest/v1/targets/tag-1/tags');
    expect(tags.json.map((t: { name: string }) => t.name)).toContain('canary');
    expect((await call(backend, 'DELETE', base, ['tag-1', 'tag-2'])).status).toBe(200);
    expect((await call(backend, 'DELETE', `${base}/tag-3`)).status).toBe(200);
    expect((await call(backend, 'GET', base)).json.total).toBe(0);
  });

  it('refuses an unknown target or tag with 404 and tags nobody', async () => {
    const [tag] = (await call(backend, 'POST', '/rest/v1/targettags', [{ name: 'strict' }])).json;
    const base = `/rest/v1/targettags/${tag.id}/assigned`;
    const unknown = await call(backend, 'POST', base, ['tag-1', 'nobody']);
    expect(unknown.status).toBe(404);
    expect((await call(backend, 'GET', base)).json.total).toBe(0);
    expect((await call(backend, 'GET', '/rest/v1/targettags/99999/assigned')).status).toBe(404);
    expect(
      (await call(backend, 'POST', '/rest/v1/targettags', [{ description: 'no name' }])).status,
    ).toBe(400);
  });

  it("forgets a deleted target's tags", async () => {
    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'tag-gone' }]);
    const [tag] = (await call(backend, 'POST', '/rest/v1/targettags', [{ name: 'doomed' }])).json;
    await call(backend, 'POST', `/rest/v1/targettags/${tag.id}/assigned`, ['tag-gone']);
    await call(backend, 'DELETE', '/rest/v1/targets/tag-gone');
    expect((await call(backend, 'GET', `/rest/v1/targettags/${tag.id}/assigned`)).json.total).toBe(
      0,
    );
  });
});

describe('distribution-set tags', () => {
  it('tags sets by id in either body form, lists them, and untags', async () => {
    const [tag] = (
      await call(backend, 'POST', '/rest/v1/distributionsettags', [{ name: 'stable' }])
    ).json;
    expect(tag._links.assignedDistributionSets).toBeDefined();
    const base = `/rest/v1/distributionsettags/${tag.id}/assigned`;
    expect((await call(backend, 'POST', base, [setId])).status).toBe(200);
    expect((await call(backend, 'POST', base, [{ id: setId }])).status).toBe(200);
    const members = await call(backend, 'GET', base);
    expect(members.json).toMatchObject({ total: 1, content: [{ id: setId }] });
    expect((await call(backend, 'POST', `${base}/424242`)).status).toBe(404);
    expect((await call(backend, 'DELETE', `${base}/${setId}`)).status).toBe(200);
    expect((await call(backend, 'GET', base)).json.total).toBe(0);
    expect((await call(backend, 'POST', `${base}/${setId}`)).status).toBe(200);
    expect((await call(backend, 'GET', base)).json.total).toBe(1);
    const one = `/rest/v1/distributionsettags/${tag.id}`;
    expect((await call(backend, 'GET', one)).json).toMatchObject({ name: 'stable' });
    expect((await call(backend, 'PUT', one, { colour: '#123456' })).json.colour).toBe('#123456');
    expect((await call(backend, 'DELETE', one)).status).toBe(200);
    expect((await call(backend, 'GET', one)).status).toBe(404);
  });
});
