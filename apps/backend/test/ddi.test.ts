import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/server.js';
import { AUTH, call, startTestBackend } from './helpers.js';

let backend: Backend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => {
  await backend?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: DDI bodies are inspected field by field
async function ddi(path: string, init: RequestInit = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(
    path.startsWith('http') ? path : `${backend.url}/DEFAULT/controller/v1/${path}`,
    {
      ...init,
      headers: {
        Accept: 'application/hal+json',
        'Content-Type': 'application/json',
        ...(init.headers as Record<string, string>),
      },
    },
  );
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

describe('DDI mounted in the backend', () => {
  it('registers a polling device, serves its deployment and artifact, and takes its feedback', async () => {
    expect((await ddi('ddi-dev-1')).status).toBe(200);
    expect((await call(backend, 'GET', '/rest/v1/targets/ddi-dev-1')).json.updateStatus).toBe(
      'registered',
    );

    const sm = await call(backend, 'POST', '/rest/v1/softwaremodules', [
      { type: 'os', name: 'ddi-fw', version: '2' },
    ]);
    const moduleId = sm.json[0].id as number;
    const bytes = Buffer.from('firmware image bytes');
    const form = new FormData();
    form.append('file', new Blob([bytes]), 'image.bin');
    await fetch(`${backend.url}/rest/v1/softwaremodules/${moduleId}/artifacts`, {
      method: 'POST',
      headers: { Authorization: AUTH },
      body: form,
    });
    const ds = await call(backend, 'POST', '/rest/v1/distributionsets', [
      { name: 'ddi-fw', version: '2', type: 'os', modules: [{ id: moduleId }] },
    ]);
    const assigned = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${ds.json[0].id}/assignedTargets`,
      [{ id: 'ddi-dev-1' }],
    );
    const actionId = assigned.json.assignedActions[0].id as number;

    const root = await ddi('ddi-dev-1');
    const deploymentHref = root.json._links.deploymentBase.href as string;
    const deployment = await ddi(deploymentHref);
    expect(deployment.json.id).toBe(String(actionId));
    const artifact = deployment.json.deployment.chunks[0].artifacts[0];
    expect(artifact.hashes.sha1).toBe(createHash('sha1').update(bytes).digest('hex'));
    const download = await fetch(artifact._links['download-http'].href);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(bytes);

    const feedback = await ddi(`ddi-dev-1/deploymentBase/${actionId}/feedback`, {
      method: 'POST',
      body: JSON.stringify({ status: { execution: 'closed', result: { finished: 'success' } } }),
    });
    expect(feedback.status).toBe(200);
    const action = await call(backend, 'GET', `/rest/v1/targets/ddi-dev-1/actions/${actionId}`);
    expect(action.json).toMatchObject({ status: 'finished', active: false });
    const target = await call(backend, 'GET', '/rest/v1/targets/ddi-dev-1');
    expect(target.json.updateStatus).toBe('in_sync');
    expect(target.json.pollStatus).toMatchObject({ overdue: false });
    expect((await call(backend, 'GET', '/rest/v1/targets/ddi-dev-1/installedDS')).json.id).toBe(
      ds.json[0].id,
    );
  });
});
