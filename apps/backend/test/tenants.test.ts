import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type Backend, startBackend } from '../src/server.js';
import { hashPassword, parseUsers, verifyPassword } from '../src/tenants/users.js';
import { as, poll, userNamed, writeUsersFile } from './tenantHelpers.js';

const CHEAP = { log2n: 10, r: 8, p: 1 };

describe('users file', () => {
  it('hashes with scrypt, verifies, and refuses a plain password', async () => {
    const hash = await hashPassword('pw', CHEAP);
    expect(hash).toMatch(/^scrypt\$10\$8\$1\$/);
    expect(await verifyPassword(hash, 'pw')).toBe(true);
    expect(await verifyPassword(hash, 'pW')).toBe(false);
    const plain = JSON.stringify({
      users: [{ username: 'x', passwordHash: 'pw', tenant: 'A', permissions: ['READ_TARGET'] }],
    });
    expect(() => parseUsers(plain, 'f')).toThrow(/plain passwords are refused/);
    const unknown = JSON.stringify({
      users: [{ username: 'x', passwordHash: hash, tenant: 'A', permissions: ['READ_ALL'] }],
    });
    expect(() => parseUsers(unknown, 'f')).toThrow(/users\.0\.permissions\.0/);
    const twice = JSON.stringify({
      users: [
        { username: 'x', passwordHash: hash, tenant: 'A', permissions: ['READ_TARGET'] },
        { username: 'x', passwordHash: hash, tenant: 'B', permissions: ['READ_TARGET'] },
      ],
    });
    expect(() => parseUsers(twice, 'f')).toThrow(/listed twice/);
  });
});

describe('several tenants in one backend', () => {
  let dir: string;
  let backend: Backend;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otaflow-tenants-'));
    const config = parseConfig({
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      usersFile: await writeUsersFile(dir),
      ddiPollingSleep: '00:00:30',
    });
    backend = await startBackend(config, {
      logger: createLogger({ level: 'silent' }),
      strictApiDocs: true,
    });
  });
  afterAll(async () => {
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves every user tenant and the default one', () => {
    expect(backend.tenants).toEqual(['DEFAULT', 'ACME', 'BETA']);
    expect(backend.tenant('acme')?.tenant).toBe('ACME');
    expect(backend.tenant('nobody')).toBeUndefined();
  });

  it('tells each user its tenant and permissions, and refuses wrong credentials with 401', async () => {
    const info = await as(backend, userNamed('acme-reader'), 'GET', '/userinfo');
    expect(info.json).toEqual({
      tenant: 'ACME',
      username: 'acme-reader',
      permissions: ['READ_TARGET', 'READ_REPOSITORY'],
    });
    const wrong = await as(
      backend,
      { ...userNamed('acme-admin'), password: 'nope' },
      'GET',
      '/targets',
    );
    expect(wrong.status).toBe(401);
    expect(wrong.json).toMatchObject({ status: 401, error: 'Unauthorized' });
  });

  it('answers 403 in hawkBit form for a missing permission, and changes nothing', async () => {
    const reader = userNamed('acme-reader');
    const refused = await as(backend, reader, 'POST', '/targets', [{ controllerId: 'r1' }]);
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({
      errorCode: 'hawkbit.server.error.insufficientPermission',
      exceptionClass: 'org.eclipse.hawkbit.repository.exception.InsufficientPermissionException',
    });
    expect(refused.json.message).toContain('CREATE_TARGET');
    expect((await as(backend, reader, 'GET', '/targets/r1')).status).toBe(404);
    expect((await as(backend, reader, 'GET', '/system/configs')).status).toBe(403);
    expect((await as(backend, reader, 'GET', '/rollouts')).status).toBe(403);
  });

  it("keeps each tenant's targets, DDI devices and events to itself", async () => {
    const acme = userNamed('acme-admin');
    const beta = userNamed('beta-admin');
    expect(
      (await as(backend, acme, 'POST', '/targets', [{ controllerId: 'shared-id' }])).status,
    ).toBe(201);
    // The same controller id is another target in another tenant.
    expect((await as(backend, beta, 'GET', '/targets/shared-id')).status).toBe(404);
    expect(
      (await as(backend, beta, 'POST', '/targets', [{ controllerId: 'shared-id', name: 'b' }]))
        .status,
    ).toBe(201);
    expect((await as(backend, acme, 'GET', '/targets/shared-id')).json.name).toBe('shared-id');
    // A device registers in the tenant of its path only.
    expect((await poll(backend, 'beta', 'beta-device')).status).toBe(200);
    expect((await as(backend, beta, 'GET', '/targets/beta-device')).status).toBe(200);
    expect((await as(backend, acme, 'GET', '/targets/beta-device')).status).toBe(404);
    expect((await poll(backend, 'nobody', 'x')).status).toBe(404);
    expect(backend.tenant('ACME')?.service).not.toBe(backend.tenant('BETA')?.service);
  });

  it("serves and changes the tenant's configuration, and DDI follows it at once", async () => {
    const acme = userNamed('acme-admin');
    const all = await as(backend, acme, 'GET', '/system/configs');
    expect(all.json.pollingTime).toMatchObject({ value: '00:00:30', global: true });
    expect(all.json['authentication.gatewaytoken.enabled'].value).toBe(false);

    const put = await as(backend, acme, 'PUT', '/system/configs', {
      'authentication.gatewaytoken.enabled': true,
      'authentication.gatewaytoken.key': 'acme-gateway-key',
      pollingTime: '00:02:00',
    });
    expect(put.status).toBe(200);
    expect(put.json).toHaveLength(3);
    const one = await as(backend, acme, 'GET', '/system/configs/pollingTime');
    expect(one.json).toMatchObject({ value: '00:02:00', global: false, createdBy: 'acme-admin' });
    expect(one.json._links.self.href).toMatch(/\/rest\/v1\/system\/configs\/pollingTime$/);

    // ACME's devices now need the gateway token; BETA's are let in as before.
    expect((await poll(backend, 'ACME', 'gw-device')).status).toBe(401);
    const withKey = await poll(backend, 'ACME', 'gw-device', 'GatewayToken acme-gateway-key');
    expect(withKey.status).toBe(200);
    expect(withKey.json.config.polling.sleep).toBe('00:02:00');
    const beta = await poll(backend, 'BETA', 'gw-device');
    expect(beta.status).toBe(200);
    expect(beta.json.config.polling.sleep).toBe('00:00:30');

    const badKey = await as(backend, acme, 'PUT', '/system/configs/no.such.key', { value: 1 });
    expect(badKey.status).toBe(400);
    expect(badKey.json.errorCode).toBe('hawkbit.server.error.configKeyInvalid');
    const badValue = await as(backend, acme, 'PUT', '/system/configs/pollingTime', { value: 5 });
    expect(badValue.status).toBe(400);
    expect(badValue.json.errorCode).toBe('hawkbit.server.error.configValueInvalid');
    // A batch with one bad entry sets nothing.
    const batch = await as(backend, acme, 'PUT', '/system/configs', {
      pollingTime: '00:03:00',
      'rollout.approval.enabled': 'yes',
    });
    expect(batch.status).toBe(400);
    expect((await as(backend, acme, 'GET', '/system/configs/pollingTime')).json.value).toBe(
      '00:02:00',
    );

    expect(
      (await as(backend, acme, 'DELETE', '/system/configs/authentication.gatewaytoken.enabled'))
        .status,
    ).toBe(200);
    expect((await poll(backend, 'ACME', 'gw-device')).status).toBe(200);
  });

  it('makes new assignments wait for consent when the confirmation flow is on', async () => {
    const beta = userNamed('beta-admin');
    await as(backend, beta, 'PUT', '/system/configs/user.confirmation.flow.enabled', {
      value: true,
    });
    await as(backend, beta, 'POST', '/targets', [{ controllerId: 'consent-1' }]);
    const sm = await as(backend, beta, 'POST', '/softwaremodules', [
      { name: 'fw', version: '1', type: 'os' },
    ]);
    const ds = await as(backend, beta, 'POST', '/distributionsets', [
      { name: 'fw', version: '1', type: 'os', modules: [{ id: sm.json[0].id }] },
    ]);
    await as(backend, beta, 'POST', `/distributionsets/${ds.json[0].id}/assignedTargets`, [
      { id: 'consent-1' },
    ]);
    const actions = await as(backend, beta, 'GET', '/targets/consent-1/actions');
    expect(actions.json.content[0].status).toBe('wait_for_confirmation');
  });
});
