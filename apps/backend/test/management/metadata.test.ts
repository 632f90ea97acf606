import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/server.js';
import { call, seed, startTestBackend } from '../helpers.js';

let backend: Backend;
let moduleId: number;
let setId: number;
beforeAll(async () => {
  backend = await startTestBackend({ store: 'memory' });
  ({ moduleId, setId } = await seed(backend, ['meta-1', 'meta-2'], 'meta'));
});
afterAll(async () => {
  await backend?.close();
});

const EXISTS = 'hawkbit.server.error.repo.entityAlreadyExists';

describe('metadata of targets, distribution sets and software modules', () => {
  for (const [owner, base] of [
    ['targets', () => '/rest/v1/targets/meta-1'],
    ['distribution sets', () => `/rest/v1/distributionsets/${setId}`],
    ['software modules', () => `/rest/v1/softwaremodules/${moduleId}`],
  ] as const) {
    it(`creates, lists, reads, updates and deletes entries of ${owner}`, async () => {
      const path = `${base()}/metadata`;
      const created = await call(backend, 'POST', path, [
        { key: 'b-key', value: 'two' },
        { key: 'a-key', value: 'öne', targetVisible: true },
      ]);
      expect(created.status).toBe(201);
      expect(created.json.map((e: { key: string }) => e.key)).toEqual(['b-key', 'a-key']);
      const list = await call(backend, 'GET', `${path}?limit=1`);
      expect(list.status).toBe(200);
      expect(list.json).toMatchObject({
        total: 2,
        size: 1,
        content: [{ key: 'a-key', value: 'öne' }],
      });
      const filtered = await call(backend, 'GET', `${path}?q=value==tw*`);
      expect(filtered.json.content.map((e: { key: string }) => e.key)).toEqual(['b-key']);
      expect((await call(backend, 'GET', `${path}/a-key`)).json).toMatchObject({ key: 'a-key' });
      const updated = await call(backend, 'PUT', `${path}/a-key`, { value: 'new' });
      expect(updated).toMatchObject({ status: 200, json: { key: 'a-key', value: 'new' } });
      expect((await call(backend, 'DELETE', `${path}/b-key`)).status).toBe(200);
      expect((await call(backend, 'GET', `${path}/b-key`)).status).toBe(404);
      // What is left: one entry, new value.
      const left = await call(backend, 'GET', path);
      expect(left.json.content).toEqual([expect.objectContaining({ key: 'a-key', value: 'new' })]);
    });
  }

  it('refuses a key already there or twice in a body with 409, and creates none of the body', async () => {
    const path = '/rest/v1/targets/meta-2/metadata';
    expect((await call(backend, 'POST', path, [{ key: 'k', value: '1' }])).status).toBe(201);
    const again = await call(backend, 'POST', path, [
      { key: 'fresh', value: '1' },
      { key: 'k', value: '2' },
    ]);
    expect(again.status).toBe(409);
    expect(again.json.errorCode).toBe(EXISTS);
    const twice = await call(backend, 'POST', path, [
      { key: 'x', value: '1' },
      { key: 'x', value: '2' },
    ]);
    expect(twice.status).toBe(409);
    expect((await call(backend, 'GET', path)).json.total).toBe(1);
  });

  it('answers 404 for an unknown owner or key, 400 for a bad body, and changes nothing', async () => {
    expect((await call(backend, 'GET', '/rest/v1/targets/nobody/metadata')).status).toBe(404);
    expect((await call(backend, 'POST', '/rest/v1/distributionsets/999/metadata', [])).status).toBe(
      404,
    );
    expect(
      (await call(backend, 'PUT', '/rest/v1/targets/meta-2/metadata/none', { value: 'x' })).status,
    ).toBe(404);
    const bad = await call(backend, 'POST', '/rest/v1/targets/meta-2/metadata', [
      { value: 'no key' },
    ]);
    expect(bad.status).toBe(400);
    const long = await call(backend, 'POST', '/rest/v1/targets/meta-2/metadata', [
      { key: 'k'.repeat(129), value: 'x' },
    ]);
    expect(long.status).toBe(400);
    expect((await call(backend, 'GET', '/rest/v1/targets/meta-2/metadata')).json.total).toBe(1);
  });

  it("keeps hawkBit's quota of 100 entries per owner", async () => {
    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'meta-quota' }]);
    const path = '/rest/v1/targets/meta-quota/metadata';
    const hundred = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    expect((await call(backend, 'POST', path, hundred)).status).toBe(201);
    const more = await call(backend, 'POST', path, [{ key: 'one-more', value: 'v' }]);
    expect(more.status).toBe(429);
    expect((await call(backend, 'GET', path)).json.total).toBe(100);
  });

  it('goes with its target: a target created again under the id has none', async () => {
    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'meta-gone' }]);
    await call(backend, 'POST', '/rest/v1/targets/meta-gone/metadata', [{ key: 'k', value: 'v' }]);
    expect((await call(backend, 'DELETE', '/rest/v1/targets/meta-gone')).status).toBe(204);
    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'meta-gone' }]);
    expect((await call(backend, 'GET', '/rest/v1/targets/meta-gone/metadata')).json.total).toBe(0);
  });

  it("hands a module's targetVisible entries to a DDI device, and only those", async () => {
    await call(backend, 'POST', `/rest/v1/softwaremodules/${moduleId}/metadata`, [
      { key: 'hidden', value: 'no', targetVisible: false },
      { key: 'shown', value: 'yes', targetVisible: true },
    ]);
    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'meta-ddi' }]);
    const assigned = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
      [{ id: 'meta-ddi' }],
    );
    const actionId = assigned.json.assignedActions[0].id;
    const res = await fetch(
      `${backend.url}/DEFAULT/controller/v1/meta-ddi/deploymentBase/${actionId}`,
      {
        headers: { Accept: 'application/hal+json' },
      },
    );
    const body = (await res.json()) as {
      deployment: { chunks: { metadata?: { key: string; value: string }[] }[] };
    };
    const keys = body.deployment.chunks[0]?.metadata?.map((m) => m.key);
    expect(keys).toContain('shown');
    expect(keys).not.toContain('hidden');
  });
});
