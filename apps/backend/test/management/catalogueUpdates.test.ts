import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/server.js';
import { call, seed, startTestBackend } from '../helpers.js';

let backend: Backend;
let moduleId: number;
let setId: number;
beforeAll(async () => {
  backend = await startTestBackend({ store: 'memory' });
  ({ moduleId, setId } = await seed(backend, [], 'upd'));
  await call(backend, 'POST', '/rest/v1/distributionsets', [
    { name: 'other', version: '2.0.0', type: 'os', modules: [{ id: moduleId }] },
  ]);
});
afterAll(async () => {
  await backend?.close();
});

describe('updating software modules and distribution sets', () => {
  it("changes a module's description and vendor, and nothing else", async () => {
    const res = await call(backend, 'PUT', `/rest/v1/softwaremodules/${moduleId}`, {
      description: 'new text',
      vendor: 'ACME',
      name: 'ignored',
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      id: moduleId,
      description: 'new text',
      vendor: 'ACME',
      name: 'upd',
    });
    expect((await call(backend, 'GET', `/rest/v1/softwaremodules/${moduleId}`)).json.vendor).toBe(
      'ACME',
    );
  });

  it('renames a set, refuses a name + version another set has with 409, and changes nothing then', async () => {
    const res = await call(backend, 'PUT', `/rest/v1/distributionsets/${setId}`, {
      name: 'renamed',
      description: 'd',
      requiredMigrationStep: true,
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      name: 'renamed',
      version: '1.0.0',
      requiredMigrationStep: true,
    });
    const clash = await call(backend, 'PUT', `/rest/v1/distributionsets/${setId}`, {
      name: 'other',
      version: '2.0.0',
    });
    expect(clash.status).toBe(409);
    expect((await call(backend, 'GET', `/rest/v1/distributionsets/${setId}`)).json.name).toBe(
      'renamed',
    );
  });

  it('answers 404, 400 and 415 as hawkBit does', async () => {
    expect(
      (await call(backend, 'PUT', '/rest/v1/softwaremodules/999', { vendor: 'x' })).status,
    ).toBe(404);
    expect(
      (await call(backend, 'PUT', `/rest/v1/distributionsets/${setId}`, { name: '' })).status,
    ).toBe(400);
    const wrongType = await call(backend, 'PUT', `/rest/v1/distributionsets/${setId}`, 'name=x', {
      'Content-Type': 'text/plain',
    });
    expect(wrongType.status).toBe(415);
  });
});
