import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import SwaggerParser from '@apidevtools/swagger-parser';
import { MemoryUpdateStore, UpdateService } from '@otaflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../src/ArtifactStore.js';
import { createManagementApi } from '../../src/management/createManagementApi.js';
import { HAWKBIT_ENDPOINTS } from '../../src/management/hawkbitEndpoints.js';
import type { Route } from '../../src/management/ManagementContext.js';
import { hawkbitEndpointOf, openApiDocument } from '../../src/management/openApiDocument.js';
import { PENDING_RESOURCES, routeCoverage } from '../../src/management/routeCoverage.js';
import { MANAGEMENT_ROUTES } from '../../src/management/routes.js';
import type { Backend } from '../../src/server.js';
import { startTestBackend } from '../helpers.js';

let backend: Backend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => {
  await backend?.close();
});

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

describe('route coverage against hawkBit 1.1.0', () => {
  it('routes every released hawkBit endpoint but the pending resources, and nothing else', () => {
    const coverage = routeCoverage(MANAGEMENT_ROUTES);
    const byReason = new Map<string, number>();
    for (const e of coverage.pending) {
      const why = PENDING_RESOURCES[e.resource] ?? '';
      byReason.set(why, (byReason.get(why) ?? 0) + 1);
    }
    const pendingNote = [...byReason].map(([why, n]) => `${n} for ${why}`).join(', ');
    // The figure `pnpm test` prints beside its closing line: how much of hawkBit a hawkBit
    // script finds here.
    const figure = `Management API: ${coverage.routed.length} of ${coverage.release.length} hawkBit 1.1.0 endpoints routed (${HAWKBIT_ENDPOINTS.length} at hawkBit's newest source); pending: ${pendingNote || 'none'}`;
    console.log(figure);
    mkdirSync('.vitest', { recursive: true });
    writeFileSync('.vitest/figures.txt', `${figure}\n`);
    expect(coverage.missing.map((e) => key(e.method, e.path))).toEqual([]);
    expect(coverage.extra.filter((r) => !r.summary).map((r) => key(r.method, r.path))).toEqual([]);
    // A resource that is routed at last must leave the pending list.
    for (const resource of Object.keys(PENDING_RESOURCES)) {
      const routed = coverage.routed.filter((e) => e.resource === resource);
      expect(routed.map((e) => key(e.method, e.path))).toEqual([]);
    }
  });

  it('routes each method and path once', () => {
    const keys = MANAGEMENT_ROUTES.map((r) => key(r.method, r.path));
    expect(keys.length).toBe(new Set(keys).size);
  });
});

describe('OpenAPI document', () => {
  const document = openApiDocument(MANAGEMENT_ROUTES, { version: 'test' });

  it('is a valid OpenAPI 3.1 document', async () => {
    await SwaggerParser.validate(structuredClone(document) as never);
  });

  it('has exactly one operation per route, with its parameters and body', () => {
    const operations: string[] = [];
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const method of Object.keys(methods)) operations.push(key(method, path));
    }
    const expected = MANAGEMENT_ROUTES.map((r) => {
      const path = hawkbitEndpointOf(r)?.path ?? r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      return key(r.method, `/rest/v1${path}`);
    });
    expect(operations.sort()).toEqual(expected.sort());
    for (const route of MANAGEMENT_ROUTES) {
      const path = `/rest/v1${hawkbitEndpointOf(route)?.path ?? route.path}`;
      const operation = (document.paths[path] as Record<string, Record<string, unknown>>)?.[
        route.method.toLowerCase()
      ];
      if (!operation) continue; // a non-hawkBit route: counted above
      const parameters = operation.parameters as { in: string; name: string }[];
      const pathParams = parameters.filter((p) => p.in === 'path');
      expect(pathParams.length, `${route.method} ${route.path}`).toBe(
        (route.path.match(/:/g) ?? []).length,
      );
      expect(parameters.filter((p) => p.in === 'query').map((p) => p.name)).toEqual([
        ...(route.query ?? []),
      ]);
      expect(Boolean(operation.requestBody), `${route.method} ${route.path}`).toBe(
        Boolean(route.body),
      );
    }
  });

  it('is served at /v3/api-docs without credentials, with the API browser beside it', async () => {
    const served = await fetch(`${backend.url}/v3/api-docs`);
    expect(served.status).toBe(200);
    const body = (await served.json()) as { paths: Record<string, unknown>; info: unknown };
    expect(Object.keys(body.paths).sort()).toEqual(Object.keys(document.paths).sort());
    const page = await fetch(`${backend.url}/swagger-ui/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("url: '/v3/api-docs'");
    // Everything the page loads comes from the backend itself: no CDN.
    for (const [, src] of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      expect(src).not.toMatch(/^(https?:)?\/\//);
      const asset = await fetch(new URL(src ?? '', `${backend.url}/swagger-ui/`));
      expect(asset.status, src).toBe(200);
      await asset.arrayBuffer();
    }
    const redirect = await fetch(`${backend.url}/swagger-ui`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect((await fetch(`${backend.url}/swagger-ui/../../etc/passwd`)).status).not.toBe(200);
    expect((await fetch(`${backend.url}/swagger-ui/package.json`)).status).toBe(404);
    expect((await fetch(`${backend.url}/v3/api-docs`, { method: 'POST' })).status).toBe(405);
  });
});

describe('strict documentation', () => {
  it('refuses a request that reads a query parameter or body its route does not declare', async () => {
    // The test backend is strict, so a route that forgets to declare what it reads fails its
    // tests; here two such routes, mounted alone.
    const routes: Route[] = [
      {
        method: 'GET',
        path: '/targets',
        endpoint: async (_api, request) => ({ status: 200, body: request.query.get('secret') }),
      },
      {
        method: 'POST',
        path: '/targets',
        endpoint: async (_api, request) => ({ status: 200, body: await request.json() }),
      },
    ];
    const artifacts = await ArtifactStore.open();
    const api = createManagementApi({
      service: new UpdateService({ store: new MemoryUpdateStore() }),
      artifacts,
      user: 'admin',
      password: 'admin',
      tenant: 'DEFAULT',
      routes,
      strictDocs: true,
    });
    const server = createServer((req, res) => {
      void api.handle(req, res);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    const headers = { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` };
    try {
      const read = await fetch(`http://127.0.0.1:${port}/rest/v1/targets?secret=1`, { headers });
      expect(read.status).toBe(500);
      expect(((await read.json()) as { message: string }).message).toContain('"secret"');
      const posted = await fetch(`http://127.0.0.1:${port}/rest/v1/targets`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: '[]',
      });
      expect(posted.status).toBe(500);
      expect(((await posted.json()) as { message: string }).message).toContain('a JSON body');
    } finally {
      await new Promise((done) => server.close(done));
      await artifacts.close();
    }
  });
});
