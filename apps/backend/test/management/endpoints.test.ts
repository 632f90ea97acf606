import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { MemoryUpdateStore, silentLogger, UpdateService } from '@otaflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../src/ArtifactStore.js';
import { cancelTargetAction, getTargetAction } from '../../src/management/actions.js';
import { downloadArtifact, listArtifacts, uploadArtifact } from '../../src/management/artifacts.js';
import {
  createManagementApi,
  createTenantApi,
  DEFAULT_TENANT_VALUES,
} from '../../src/management/createManagementApi.js';
import {
  assignTargetsToSet,
  createDistributionSets,
} from '../../src/management/distributionSets.js';
import type {
  EndpointRequest,
  ManagementContext,
  Route,
} from '../../src/management/ManagementContext.js';
import { Problem } from '../../src/management/Problem.js';
import { MANAGEMENT_ROUTES } from '../../src/management/routes.js';
import { createSoftwareModules } from '../../src/management/softwareModules.js';
import { createTargets, getTarget, listTargets } from '../../src/management/targets.js';
import { listSoftwareModuleTypes } from '../../src/management/types.js';
import { getUserinfo } from '../../src/management/userinfo.js';
import { RolloutEngine } from '../../src/rollouts/RolloutEngine.js';
import { TenantSettings } from '../../src/tenants/TenantSettings.js';

const BASE = 'http://mgmt.test';
let api: ManagementContext;

beforeAll(async () => {
  const store = new MemoryUpdateStore();
  const service = new UpdateService({ store });
  api = {
    ...createTenantApi({
      service,
      artifacts: await ArtifactStore.open(),
      tenant: 'DEFAULT',
      settings: new TenantSettings(store, DEFAULT_TENANT_VALUES, silentLogger),
      maxArtifactBytes: 1024,
      logger: silentLogger,
      rollouts: new RolloutEngine({ service, logger: silentLogger }),
    }),
    user: 'admin',
  };
});
afterAll(async () => {
  await api?.artifacts.close();
});

/** A request as the router builds one, by hand. */
function request(
  options: {
    params?: Record<string, string>;
    query?: string;
    body?: unknown;
    raw?: Buffer;
    contentType?: string;
  } = {},
): EndpointRequest {
  const raw = Object.assign(Readable.from(options.raw ? [options.raw] : []), {
    headers: options.contentType ? { 'content-type': options.contentType } : {},
  });
  return {
    params: options.params ?? {},
    query: new URLSearchParams(options.query ?? ''),
    base: BASE,
    json: async () => options.body,
    raw,
  };
}

/** The problem an endpoint throws, for its status and body. */
async function problem(promise: Promise<unknown>): Promise<Problem> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Problem);
  return error as Problem;
}

function form(boundary: string, file: Buffer, fields: Record<string, string> = {}): Buffer {
  const parts = Object.entries(fields).map(
    ([name, value]) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return Buffer.concat([
    Buffer.from(parts.join('')),
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="fw.bin"\r\n\r\n`,
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

describe('endpoints called directly', () => {
  it('userinfo and the fixed types need no request state', async () => {
    expect(await getUserinfo(api)).toEqual({
      status: 200,
      body: { tenant: 'DEFAULT', username: 'admin', permissions: ['TENANT_ADMIN'] },
    });
    const types = await listSoftwareModuleTypes(api, request());
    expect(types.status).toBe(200);
    expect(types).toMatchObject({ body: { total: 2, size: 2 } });
  });

  it('creates, reads and lists targets; refusals are thrown as hawkBit problems', async () => {
    const created = await createTargets(
      api,
      request({ body: [{ controllerId: 'direct-1', name: 'one' }] }),
    );
    expect(created).toMatchObject({
      status: 201,
      body: [{ controllerId: 'direct-1', name: 'one', updateStatus: 'unknown' }],
    });
    const one = await getTarget(api, request({ params: { id: 'direct-1' } }));
    expect(one).toMatchObject({
      status: 200,
      body: { _links: { self: { href: `${BASE}/rest/v1/targets/direct-1` } } },
    });
    const list = await listTargets(api, request({ query: 'q=controllerId==direct-*' }));
    expect(list).toMatchObject({ status: 200, body: { total: 1, size: 1 } });

    const missing = await problem(getTarget(api, request({ params: { id: 'nobody' } })));
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      errorCode: 'hawkbit.server.error.repo.entityNotFound',
      exceptionClass: 'org.eclipse.hawkbit.repository.exception.EntityNotFoundException',
      info: { type: 'Target', entityId: 'nobody' },
    });
    const dup = await problem(
      createTargets(api, request({ body: [{ controllerId: 'direct-1' }] })),
    );
    expect(dup.status).toBe(409);
    const unreadable = await problem(createTargets(api, request({ body: 'text' })));
    expect(unreadable.body?.errorCode).toBe('hawkbit.server.error.rest.body.notReadable');
  });

  it('uploads, lists and downloads an artifact, then assigns and cancels', async () => {
    const sm = await createSoftwareModules(
      api,
      request({ body: [{ type: 'os', name: 'direct-fw', version: '1' }] }),
    );
    const moduleId = String((sm as { body: { id: number }[] }).body[0]?.id);
    const bytes = Buffer.from('direct firmware bytes');
    const sha1 = createHash('sha1').update(bytes).digest('hex');
    const uploaded = await uploadArtifact(
      api,
      request({
        params: { id: moduleId },
        raw: form('xyz', bytes, { sha1sum: sha1 }),
        contentType: 'multipart/form-data; boundary=xyz',
      }),
    );
    expect(uploaded).toMatchObject({
      status: 201,
      body: { providedFilename: 'fw.bin', size: bytes.length, hashes: { sha1 } },
    });
    const artifactId = String((uploaded as { body: { id: number } }).body.id);
    expect(await listArtifacts(api, request({ params: { id: moduleId } }))).toMatchObject({
      body: [{ id: Number(artifactId) }],
    });
    expect(
      await downloadArtifact(api, request({ params: { id: moduleId, artifactId } })),
    ).toMatchObject({
      status: 200,
      artifact: { moduleId: Number(moduleId), filename: 'fw.bin', size: bytes.length, sha1 },
    });

    const tooBig = await problem(
      uploadArtifact(
        api,
        request({
          params: { id: moduleId },
          raw: form('xyz', Buffer.alloc(4096)),
          contentType: 'multipart/form-data; boundary=xyz',
        }),
      ),
    );
    expect(tooBig.status).toBe(429);
    expect(tooBig.body?.errorCode).toBe('hawkbit.server.error.quota.fileSizeExceeded');
    const notMultipart = await problem(
      uploadArtifact(api, request({ params: { id: moduleId }, contentType: 'text/plain' })),
    );
    expect(notMultipart).toMatchObject({ status: 415, spring: true });

    const ds = await createDistributionSets(
      api,
      request({
        body: [
          { name: 'direct-ds', version: '1', type: 'os', modules: [{ id: Number(moduleId) }] },
        ],
      }),
    );
    const setId = String((ds as { body: { id: number }[] }).body[0]?.id);
    const assigned = await assignTargetsToSet(
      api,
      request({ params: { id: setId }, body: [{ id: 'direct-1' }, { id: 'unknown' }] }),
    );
    expect(assigned).toMatchObject({ status: 200, body: { assigned: 1, total: 1 } });
    const actionId = String(
      (assigned as { body: { assignedActions: { id: number }[] } }).body.assignedActions[0]?.id,
    );
    const params = { id: 'direct-1', actionId };
    expect(await cancelTargetAction(api, request({ params }))).toEqual({ status: 204 });
    expect(await getTargetAction(api, request({ params }))).toMatchObject({
      body: { status: 'canceling', type: 'cancel' },
    });
    const again = await problem(cancelTargetAction(api, request({ params })));
    expect(again.status).toBe(405);
    expect(again.body?.errorCode).toBe('hawkbit.server.error.action.notCancelable');
  });
});

describe('the router over HTTP', () => {
  let server: http.Server;
  let url: string;
  const AUTH = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
  /** A resource that is one more module: its routes, mounted beside the standard ones. */
  const pingRoutes: Route[] = [
    {
      method: 'GET',
      path: '/ping/:word',
      endpoint: async (_api, req) => ({ status: 200, body: { pong: req.params.word } }),
      permissions: ['READ_TARGET'],
    },
  ];

  beforeAll(async () => {
    const handler = createManagementApi({
      service: api.service,
      artifacts: api.artifacts,
      user: 'admin',
      password: 'admin',
      tenant: 'DEFAULT',
      routes: [...MANAGEMENT_ROUTES, ...pingRoutes],
    });
    server = http.createServer((req, res) => {
      void handler.handle(req, res).then((handled) => {
        if (!handled) res.writeHead(418).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('mounts a new resource module, decodes path parameters and leaves other paths alone', async () => {
    const res = await fetch(`${url}/rest/v1/ping/a%20b`, { headers: { Authorization: AUTH } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/hal+json;charset=UTF-8');
    expect(await res.json()).toEqual({ pong: 'a b' });
    expect((await fetch(`${url}/elsewhere`)).status).toBe(418);
  });

  it('negotiates with q-values, answers 405 with Allow and 413 past the body limit', async () => {
    const q = await fetch(`${url}/rest/v1/userinfo`, {
      headers: { Authorization: AUTH, Accept: 'application/hal+json;q=0.5, application/json' },
    });
    expect(q.headers.get('content-type')).toBe('application/json;charset=UTF-8');
    const method = await fetch(`${url}/rest/v1/userinfo`, {
      method: 'DELETE',
      headers: { Authorization: AUTH },
    });
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('GET');
    expect(await method.json()).toMatchObject({ status: 405, path: '/rest/v1/userinfo' });
    const big = await fetch(`${url}/rest/v1/targets`, {
      method: 'POST',
      headers: { Authorization: AUTH, 'Content-Type': 'application/json' },
      body: `[${'"x",'.repeat(1_100_000)}"x"]`,
    });
    expect(big.status).toBe(413);
  });

  it('downloads through serveArtifact: ranges and the quoted ETag', async () => {
    const module = (await api.service.listSoftwareModules()).items.find(
      (m) => m.name === 'direct-fw',
    );
    const artifact = module?.artifacts[0];
    expect(artifact).toBeDefined();
    const href = `${url}/rest/v1/softwaremodules/${module?.id}/artifacts/${artifact?.id}/download`;
    const ranged = await fetch(href, { headers: { Authorization: AUTH, Range: 'bytes=0-5' } });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe('direct');
    expect(ranged.headers.get('etag')).toBe(`"${artifact?.hashes.sha1}"`);
  });
});
