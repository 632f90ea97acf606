import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type BackendStore, openBackendStore } from '../src/openBackendStore.js';
import { type Backend, startBackend } from '../src/server.js';
import { postgresAvailable, scratchDatabase } from './services.js';
import { as, poll, type TestUser, userNamed, writeUsersFile } from './tenantHelpers.js';

/**
 * Isolation is tested, not assumed: random operations of two tenants' users and devices on one
 * PostgreSQL database (the same controller ids and module names in both), after which each
 * tenant sees exactly what its own operations made, and a user of one tenant finds nothing of
 * the other by any id.
 */
const available = await postgresAvailable('the tenant isolation test');
const TENANTS = ['ACME', 'BETA'] as const;
type Tenant = (typeof TENANTS)[number];
const ADMINS: Record<Tenant, TestUser> = {
  ACME: userNamed('acme-admin'),
  BETA: userNamed('beta-admin'),
};

type Op =
  | { kind: 'create'; tenant: Tenant; id: string }
  | { kind: 'register'; tenant: Tenant; id: string }
  | { kind: 'delete'; tenant: Tenant; id: string }
  | { kind: 'module'; tenant: Tenant; name: string }
  | { kind: 'assign'; tenant: Tenant; id: string }
  | { kind: 'polling'; tenant: Tenant; seconds: number };

const ID = fc.constantFrom('dev-1', 'dev-2', 'dev-3');
const TENANT = fc.constantFrom(...TENANTS);
const OP: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), tenant: TENANT, id: ID }),
  fc.record({ kind: fc.constant('register' as const), tenant: TENANT, id: ID }),
  fc.record({ kind: fc.constant('delete' as const), tenant: TENANT, id: ID }),
  fc.record({
    kind: fc.constant('module' as const),
    tenant: TENANT,
    name: fc.constantFrom('os', 'app'),
  }),
  fc.record({ kind: fc.constant('assign' as const), tenant: TENANT, id: ID }),
  fc.record({
    kind: fc.constant('polling' as const),
    tenant: TENANT,
    seconds: fc.integer({ min: 1, max: 59 }),
  }),
);

interface Model {
  targets: Set<string>;
  modules: Set<string>;
  /** Actions created, per target (deleting a target deletes its actions). */
  actions: Map<string, number>;
  pollingTime: string | undefined;
}

describe.skipIf(!available)('tenant isolation on PostgreSQL', () => {
  let dir: string;
  let state: BackendStore;
  let backend: Backend;
  let database: Awaited<ReturnType<typeof scratchDatabase>>;
  let run = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otaflow-isolation-'));
    database = await scratchDatabase('otaflow_isolation');
    const config = parseConfig({
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      usersFile: await writeUsersFile(dir),
      databaseUrl: database.url,
      dataDir: dir,
    });
    const logger = createLogger({ level: 'silent' });
    state = await openBackendStore(config, { logger });
    backend = await startBackend(config, {
      logger,
      store: state.store,
      storeOf: state.storeOf,
      artifactsDir: join(dir, 'artifacts'),
      strictApiDocs: true,
    });
  });
  afterAll(async () => {
    await backend?.close();
    await state?.close();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('nothing of one tenant is ever visible to, or changed by, the other', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(OP, { minLength: 1, maxLength: 14 }), async (ops) => {
        // Each run has ids of its own, so runs never see each other's leftovers.
        const tag = `r${run++}`;
        const models: Record<Tenant, Model> = {
          ACME: {
            targets: new Set(),
            modules: new Set(),
            actions: new Map(),
            pollingTime: undefined,
          },
          BETA: {
            targets: new Set(),
            modules: new Set(),
            actions: new Map(),
            pollingTime: undefined,
          },
        };
        for (const op of ops) await apply(backend, tag, models[op.tenant], op);
        for (const tenant of TENANTS) await check(backend, tag, tenant, models[tenant]);
      }),
      { numRuns: 12 },
    );
  });
});

async function apply(backend: Backend, tag: string, model: Model, op: Op): Promise<void> {
  const user = ADMINS[op.tenant];
  if (op.kind === 'create' || op.kind === 'register') {
    const id = `${tag}-${op.id}`;
    const res =
      op.kind === 'create'
        ? await as(backend, user, 'POST', '/targets', [{ controllerId: id }])
        : await poll(backend, op.tenant.toLowerCase(), id);
    const expected = op.kind === 'register' ? 200 : model.targets.has(id) ? 409 : 201;
    expect(res.status).toBe(expected);
    model.targets.add(id);
  } else if (op.kind === 'delete') {
    const id = `${tag}-${op.id}`;
    const res = await as(backend, user, 'DELETE', `/targets/${id}`);
    expect(res.status).toBe(model.targets.has(id) ? 204 : 404);
    model.targets.delete(id);
    model.actions.delete(id);
  } else if (op.kind === 'module') {
    const name = `${tag}-${op.name}`;
    const res = await as(backend, user, 'POST', '/softwaremodules', [
      { name, version: '1', type: 'os' },
    ]);
    expect(res.status).toBe(model.modules.has(name) ? 409 : 201);
    model.modules.add(name);
  } else if (op.kind === 'assign') {
    const id = `${tag}-${op.id}`;
    if (!model.targets.has(id)) return;
    const version = String(model.actions.get(id) ?? 0);
    const sm = await as(backend, user, 'POST', '/softwaremodules', [
      { name: `${tag}-set-${id}`, version, type: 'os' },
    ]);
    const ds = await as(backend, user, 'POST', '/distributionsets', [
      { name: `${tag}-set-${id}`, version, type: 'os', modules: [{ id: sm.json[0].id }] },
    ]);
    const res = await as(backend, user, 'POST', `/targets/${id}/assignedDS`, [
      { id: ds.json[0].id },
    ]);
    expect(res.status).toBe(200);
    model.modules.add(`${tag}-set-${id}@${version}`);
    model.actions.set(id, (model.actions.get(id) ?? 0) + 1);
  } else {
    const value = `00:00:${String(op.seconds).padStart(2, '0')}`;
    const res = await as(backend, user, 'PUT', '/system/configs/pollingTime', { value });
    expect(res.status).toBe(200);
    model.pollingTime = value;
  }
}

async function check(backend: Backend, tag: string, tenant: Tenant, model: Model): Promise<void> {
  const user = ADMINS[tenant];
  const other = ADMINS[tenant === 'ACME' ? 'BETA' : 'ACME'];
  const targets = await as(backend, user, 'GET', `/targets?q=controllerId==${tag}-*&limit=100`);
  expect(
    new Set(targets.json.content.map((t: { controllerId: string }) => t.controllerId)),
  ).toEqual(model.targets);
  const modules = await as(backend, user, 'GET', `/softwaremodules?q=name==${tag}-*&limit=100`);
  const names = modules.json.content.map((m: { name: string; version: string }) =>
    m.name.includes('-set-') ? `${m.name}@${m.version}` : m.name,
  );
  expect(new Set(names)).toEqual(model.modules);
  for (const id of model.targets) {
    const actions = await as(backend, user, 'GET', `/targets/${id}/actions`);
    expect(actions.json.total).toBe(model.actions.get(id) ?? 0);
  }
  const polling = await as(backend, user, 'GET', '/system/configs/pollingTime');
  if (model.pollingTime !== undefined) expect(polling.json.value).toBe(model.pollingTime);
  // Ids are per tenant, so the other tenant's user may find the same id: then it is one of its
  // own modules (its own list has it), never this tenant's.
  type Module = { id: number; name: string; version: string };
  const key = (m: Module) => `${m.id}:${m.name}:${m.version}`;
  const theirs = await as(backend, other, 'GET', '/softwaremodules?limit=500');
  const own = new Set((theirs.json.content as Module[]).map(key));
  for (const m of modules.json.content as Module[]) {
    const seen = await as(backend, other, 'GET', `/softwaremodules/${m.id}`);
    if (seen.status === 200) expect(own).toContain(key(seen.json));
    else expect(seen.status).toBe(404);
  }
}
