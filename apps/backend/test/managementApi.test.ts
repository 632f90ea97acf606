import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/server.js';
import { call, seed, startTestBackend } from './helpers.js';

let backend: Backend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => {
  await backend?.close();
});

const NOT_FOUND = 'hawkbit.server.error.repo.entityNotFound';

describe('auth, content negotiation and unknown paths', () => {
  it('answers 401 with Basic realm and Boot body for missing or wrong credentials', async () => {
    for (const headers of [
      { Authorization: '' },
      { Authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` },
    ]) {
      const res = await call(backend, 'GET', '/rest/v1/targets', undefined, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="hawkBit"');
      expect(res.json).toMatchObject({ status: 401, error: 'Unauthorized' });
      expect(typeof res.json.timestamp).toBe('string');
    }
  });

  it('answers the auth probe, hal+json without Accept, 406, 415, 404 and 405', async () => {
    const info = await call(backend, 'GET', '/rest/v1/userinfo');
    expect(info.json).toMatchObject({ tenant: 'DEFAULT', username: 'admin' });
    const hal = await call(backend, 'GET', '/rest/v1/targets', undefined, { Accept: '' });
    expect(hal.headers.get('content-type')).toMatch(/^application\/hal\+json/);
    expect((await call(backend, 'GET', '/rest/v1/targets')).headers.get('content-type')).toMatch(
      /^application\/json/,
    );
    expect(
      (await call(backend, 'GET', '/rest/v1/targets', undefined, { Accept: 'text/plain' })).status,
    ).toBe(406);
    const wrongType = await call(backend, 'POST', '/rest/v1/targets', 'controllerId=x', {
      'Content-Type': 'text/plain',
    });
    expect(wrongType.status).toBe(415);
    const unknown = await call(backend, 'GET', '/rest/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ status: 404, error: 'Not Found' });
    const method = await call(backend, 'PUT', '/rest/v1/distributionsets', []);
    expect(method.status).toBe(405);
  });
});

describe('targets', () => {
  it('creates, reads, updates, lists and deletes targets with hawkBit shapes', async () => {
    const created = await call(backend, 'POST', '/rest/v1/targets', [
      {
        controllerId: 't-crud-1',
        name: 'Bench device',
        description: 'one',
        address: 'https://192.168.0.1',
        securityToken: 'tok-1',
      },
      { controllerId: 't-crud-2', channel: 'huawei' },
    ]);
    expect(created.status).toBe(201);
    expect(created.json).toHaveLength(2);
    expect(created.json[0]).toMatchObject({
      controllerId: 't-crud-1',
      name: 'Bench device',
      description: 'one',
      updateStatus: 'unknown',
      address: 'https://192.168.0.1',
      ipAddress: '192.168.0.1',
      securityToken: 'tok-1',
      requestAttributes: true,
      createdBy: 'admin',
    });
    expect(Object.keys(created.json[0]._links)).toEqual(['self']);
    expect(created.json[0]._links.self.href).toBe(`${backend.url}/rest/v1/targets/t-crud-1`);
    expect(created.json[1]).toMatchObject({ name: 't-crud-2', channel: 'huawei' });
    expect(created.json[1].securityToken).toMatch(/^[0-9a-f]{32}$/);

    const one = await call(backend, 'GET', '/rest/v1/targets/t-crud-1');
    expect(one.status).toBe(200);
    expect(Object.keys(one.json._links).sort()).toEqual([
      'actions',
      'assignedDS',
      'attributes',
      'installedDS',
      'metadata',
      'self',
    ]);
    expect(one.json._links.actions.href).toMatch(/actions\?offset=0&limit=50&sort=id%3ADESC$/);

    const updated = await call(backend, 'PUT', '/rest/v1/targets/t-crud-1', {
      description: 'a new desc',
      controllerId: 'ignored',
    });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({
      controllerId: 't-crud-1',
      description: 'a new desc',
      name: 'Bench device',
    });
    expect(
      (await call(backend, 'PUT', '/rest/v1/targets/t-crud-1', { requestAttributes: false }))
        .status,
    ).toBe(400);
    expect((await call(backend, 'PUT', '/rest/v1/targets/none', {})).status).toBe(404);

    expect((await call(backend, 'GET', '/rest/v1/targets/t-crud-1/attributes')).status).toBe(204);
    expect((await call(backend, 'GET', '/rest/v1/targets/t-crud-1/assignedDS')).status).toBe(204);

    const del = await call(backend, 'DELETE', '/rest/v1/targets/t-crud-2');
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    const gone = await call(backend, 'GET', '/rest/v1/targets/t-crud-2');
    expect(gone.status).toBe(404);
    expect(gone.json).toMatchObject({
      errorCode: NOT_FOUND,
      info: { type: 'Target', entityId: 't-crud-2' },
    });
    expect((await call(backend, 'DELETE', '/rest/v1/targets/t-crud-2')).status).toBe(404);
  });

  it('pages, sorts and filters the target list like hawkBit', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => `t-page-${i}`);
    await call(
      backend,
      'POST',
      '/rest/v1/targets',
      ids.map((controllerId) => ({ controllerId })),
    );
    const first = await call(backend, 'GET', '/rest/v1/targets?q=controllerId==t-page-*&limit=3');
    expect(first.json).toMatchObject({ total: 7, size: 3 });
    expect(first.json.content.map((t: { controllerId: string }) => t.controllerId)).toEqual([
      't-page-0',
      't-page-1',
      't-page-2',
    ]);
    const desc = await call(
      backend,
      'GET',
      '/rest/v1/targets?q=name==t-page*&sort=controllerId:desc&offset=5&limit=-4',
    );
    expect(desc.json.content.map((t: { controllerId: string }) => t.controllerId)).toEqual([
      't-page-1',
      't-page-0',
    ]);
    const or = await call(
      backend,
      'GET',
      '/rest/v1/targets?q=controllerId==t-page-1,controllerId==t-page-3',
    );
    expect(or.json).toMatchObject({ total: 2, size: 2 });
    const status = await call(
      backend,
      'GET',
      '/rest/v1/targets?q=updatestatus==UNKNOWN;controllerId=in=(t-page-4,t-page-5)',
    );
    expect(status.json.total).toBe(2);
    const empty = await call(backend, 'GET', '/rest/v1/targets?q=controllerId==none');
    expect(empty.json).toEqual({ content: [], total: 0, size: 0 });
  });

  it('answers bad requests with hawkBit error bodies and changes nothing', async () => {
    const notJson = await call(backend, 'POST', '/rest/v1/targets', '[{"controllerId": ');
    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({
      errorCode: 'hawkbit.server.error.rest.body.notReadable',
      exceptionClass: 'org.eclipse.hawkbit.rest.exception.MessageNotReadableException',
    });
    expect((await call(backend, 'POST', '/rest/v1/targets', '')).json.errorCode).toBe(
      'hawkbit.server.error.rest.body.notReadable',
    );
    expect((await call(backend, 'POST', '/rest/v1/targets', '"text"')).status).toBe(400);
    const missing = await call(backend, 'POST', '/rest/v1/targets', [
      { controllerId: 't-bad-ok' },
      { name: 'no id' },
    ]);
    expect(missing.status).toBe(400);
    expect(missing.json.errorCode).toBe('hawkbit.server.error.repo.constraintViolation');
    const spaces = await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'has space' }]);
    expect(spaces.json.errorCode).toBe('hawkbit.server.error.repo.constraintViolation');
    expect((await call(backend, 'GET', '/rest/v1/targets/t-bad-ok')).status).toBe(404);

    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 't-dup' }]);
    const dup = await call(backend, 'POST', '/rest/v1/targets', [
      { controllerId: 't-dup-new' },
      { controllerId: 't-dup' },
    ]);
    expect(dup.status).toBe(409);
    expect(dup.json.errorCode).toBe('hawkbit.server.error.repo.entityAlreadyExists');
    expect((await call(backend, 'GET', '/rest/v1/targets/t-dup-new')).status).toBe(404);
    const twice = await call(backend, 'POST', '/rest/v1/targets', [
      { controllerId: 't-twice' },
      { controllerId: 't-twice-other' },
      { controllerId: 't-twice' },
    ]);
    expect(twice.status).toBe(409);
    expect((await call(backend, 'GET', '/rest/v1/targets/t-twice-other')).status).toBe(404);

    const badSort = await call(backend, 'GET', '/rest/v1/targets?sort=controllerId:UP');
    expect(badSort.json.errorCode).toBe('hawkbit.server.error.rest.param.invalidDirection');
    expect((await call(backend, 'GET', '/rest/v1/targets?sort=nope:ASC')).json.errorCode).toBe(
      'hawkbit.server.error.rest.param.invalidField',
    );
    expect((await call(backend, 'GET', '/rest/v1/targets?sort=controllerId')).json.errorCode).toBe(
      'hawkbit.server.error.rest.param.sortParamSyntax',
    );
    expect((await call(backend, 'GET', '/rest/v1/targets?q=controllerId=')).json.errorCode).toBe(
      'hawkbit.server.error.rest.param.rsqlParamSyntax',
    );
    expect((await call(backend, 'GET', '/rest/v1/targets?q=shoeSize==3')).json.errorCode).toBe(
      'hawkbit.server.error.rest.param.rsqlInvalidField',
    );
  });
});

describe('software modules and artifact upload', () => {
  it('creates modules, refuses unknown types and duplicates', async () => {
    const created = await call(backend, 'POST', '/rest/v1/softwaremodules', [
      { type: 'os', name: 'sm-a', version: '1', vendor: 'ACME', description: 'd' },
      { type: 'application', name: 'sm-b', version: '1' },
    ]);
    expect(created.status).toBe(201);
    expect(created.json[0]).toMatchObject({
      name: 'sm-a',
      type: 'os',
      typeName: 'OS',
      vendor: 'ACME',
      encrypted: false,
      locked: false,
      deleted: false,
    });
    expect(created.json[1]).toMatchObject({ type: 'application', typeName: 'Application' });
    const unknownType = await call(backend, 'POST', '/rest/v1/softwaremodules', [
      { type: 'runtime', name: 'x', version: '1' },
    ]);
    expect(unknownType.status).toBe(404);
    expect(unknownType.json.errorCode).toBe(NOT_FOUND);
    const dup = await call(backend, 'POST', '/rest/v1/softwaremodules', [
      { type: 'os', name: 'sm-a', version: '1' },
    ]);
    expect(dup.status).toBe(409);
    const missing = await call(backend, 'POST', '/rest/v1/softwaremodules', [
      { type: 'os', name: 'x' },
    ]);
    expect(missing.json.errorCode).toBe('hawkbit.server.error.repo.constraintViolation');
    const one = await call(backend, 'GET', `/rest/v1/softwaremodules/${created.json[0].id}`);
    expect(Object.keys(one.json._links).sort()).toEqual(['artifacts', 'metadata', 'self', 'type']);
    expect((await call(backend, 'GET', '/rest/v1/softwaremodules/99999')).status).toBe(404);
  });

  it('streams a multipart upload to disk and computes sha1, md5 and sha256', async () => {
    const sm = await call(backend, 'POST', '/rest/v1/softwaremodules', [
      { type: 'os', name: 'sm-up', version: '1' },
    ]);
    const id = sm.json[0].id;
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const digest = (alg: string) => createHash(alg).update(bytes).digest('hex');
    const form = new FormData();
    form.append('file', new Blob([bytes]), 'origFilename');
    form.append('sha1sum', digest('sha1').toUpperCase());
    form.append('md5sum', digest('md5'));
    const res = await fetch(`${backend.url}/rest/v1/softwaremodules/${id}/artifacts`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}`,
        Accept: 'application/json',
      },
      body: form,
    });
    expect(res.status).toBe(201);
    const artifact = (await res.json()) as {
      id: number;
      hashes: Record<string, string>;
      size: number;
      providedFilename: string;
      _links: Record<string, { href: string }>;
    };
    expect(artifact).toMatchObject({
      providedFilename: 'origFilename',
      size: bytes.length,
      hashes: { sha1: digest('sha1'), md5: digest('md5'), sha256: digest('sha256') },
    });
    expect(artifact._links.download?.href).toBe(
      `${backend.url}/rest/v1/softwaremodules/${id}/artifacts/${artifact.id}/download`,
    );

    const list = await call(backend, 'GET', `/rest/v1/softwaremodules/${id}/artifacts`);
    expect(list.json).toHaveLength(1);
    expect(Object.keys(list.json[0]._links)).toEqual(['self']);
    const one = await call(
      backend,
      'GET',
      `/rest/v1/softwaremodules/${id}/artifacts/${artifact.id}`,
    );
    expect(one.json).toMatchObject({ id: artifact.id, providedFilename: 'origFilename' });
    expect(
      (await call(backend, 'GET', `/rest/v1/softwaremodules/${id}/artifacts/424242`)).status,
    ).toBe(404);

    const download = await fetch(artifact._links.download!.href, {
      headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
    });
    expect(
      createHash('sha256')
        .update(Buffer.from(await download.arrayBuffer()))
        .digest('hex'),
    ).toBe(digest('sha256'));
    const ranged = await fetch(`${backend.url}/artifacts/${id}/origFilename`, {
      headers: { Range: 'bytes=10-19' },
    });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(bytes.subarray(10, 20));
  });

  it('refuses checksum mismatches, same file names, empty files and broken multipart', async () => {
    const sm = await call(backend, 'POST', '/rest/v1/softwaremodules', [
      { type: 'os', name: 'sm-bad', version: '1' },
    ]);
    const id = sm.json[0].id;
    const upload = async (parts: Record<string, string | Blob>, fileName = 'f.bin', query = '') => {
      const form = new FormData();
      for (const [k, v] of Object.entries(parts)) {
        if (typeof v === 'string') form.append(k, v);
        else form.append(k, v, fileName);
      }
      const res = await fetch(`${backend.url}/rest/v1/softwaremodules/${id}/artifacts${query}`, {
        method: 'POST',
        headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
        body: form,
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    };
    const file = new Blob([Buffer.from('hello world')]);
    const mismatch = await upload({ file, sha256sum: '0'.repeat(64) });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.errorCode).toBe(
      'hawkbit.server.error.artifact.uploadFailed.checksum.sha256.match',
    );
    const viaQuery = await upload({ file }, 'f.bin', `?md5sum=${'0'.repeat(32)}`);
    expect(viaQuery.json.errorCode).toBe(
      'hawkbit.server.error.artifact.uploadFailed.checksum.md5.match',
    );
    expect((await upload({ file, filename: 'renamed.bin' })).status).toBe(201);
    const again = await upload({ file }, 'renamed.bin');
    expect(again.status).toBe(409);
    expect(again.json.errorCode).toBe('hawkbit.server.error.repo.entityAlreadyExists');
    expect((await upload({ file: new Blob([]) }, 'empty.bin')).status).toBe(400);
    expect((await upload({ notfile: 'x' })).status).toBe(400);
    expect(
      (await call(backend, 'GET', `/rest/v1/softwaremodules/${id}/artifacts`)).json,
    ).toHaveLength(1);

    const truncated = await fetch(`${backend.url}/rest/v1/softwaremodules/${id}/artifacts`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}`,
        'Content-Type': 'multipart/form-data; boundary=XyZ',
      },
      body: '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="t.bin"\r\n\r\nno closing boundary',
    });
    expect(truncated.status).toBe(400);
    expect(((await truncated.json()) as { errorCode: string }).errorCode).toBe(
      'hawkbit.server.error.artifact.uploadFailed',
    );
    const unknownModule = await fetch(`${backend.url}/rest/v1/softwaremodules/424242/artifacts`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
      body: (() => {
        const f = new FormData();
        f.append('file', file, 'x');
        return f;
      })(),
    });
    expect(unknownModule.status).toBe(404);
  });

  it('answers 429 above the size limit', async () => {
    const small = await startTestBackend({ maxArtifactBytes: 1024 });
    try {
      const sm = await call(small, 'POST', '/rest/v1/softwaremodules', [
        { type: 'os', name: 'sm', version: '1' },
      ]);
      const form = new FormData();
      form.append('file', new Blob([randomBytes(4096)]), 'big.bin');
      const res = await fetch(`${small.url}/rest/v1/softwaremodules/${sm.json[0].id}/artifacts`, {
        method: 'POST',
        headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
        body: form,
      });
      expect(res.status).toBe(429);
      expect(((await res.json()) as { errorCode: string }).errorCode).toBe(
        'hawkbit.server.error.quota.fileSizeExceeded',
      );
    } finally {
      await small.close();
    }
  });
});

describe('distribution sets, assignments and actions', () => {
  it('creates sets, checks types and completeness', async () => {
    const sms = await call(backend, 'POST', '/rest/v1/softwaremodules', [
      { type: 'os', name: 'ds-os', version: '1' },
      { type: 'application', name: 'ds-app', version: '1' },
    ]);
    const [os, app] = sms.json.map((m: { id: number }) => m.id);
    const created = await call(backend, 'POST', '/rest/v1/distributionsets', [
      { name: 'ds-1', version: '1', modules: [{ id: os }, { id: app }] },
      { name: 'ds-2', version: '1', type: 'os' },
    ]);
    expect(created.status).toBe(201);
    expect(created.json[0]).toMatchObject({
      type: 'os_app',
      typeName: 'OS with app(s)',
      complete: true,
      locked: false,
      valid: true,
      deleted: false,
      requiredMigrationStep: false,
    });
    expect(created.json[0].modules).toHaveLength(2);
    expect(created.json[1].complete).toBe(false);
    const full = await call(backend, 'GET', `/rest/v1/distributionsets/${created.json[0].id}`);
    expect(Object.keys(full.json._links).sort()).toEqual(['metadata', 'modules', 'self', 'type']);
    expect(
      (
        await call(backend, 'POST', '/rest/v1/distributionsets', [
          { name: 'x', version: '1', type: 'nope' },
        ])
      ).status,
    ).toBe(404);
    expect(
      (
        await call(backend, 'POST', '/rest/v1/distributionsets', [
          { name: 'x', version: '1', modules: [{ id: 987654 }] },
        ])
      ).status,
    ).toBe(404);
    const unsupported = await call(backend, 'POST', '/rest/v1/distributionsets', [
      { name: 'x', version: '1', type: 'os', modules: [{ id: app }] },
    ]);
    expect(unsupported.json.errorCode).toBe(
      'hawkbit.server.error.distributionset.modules.unsupported',
    );
    expect(
      (
        await call(backend, 'POST', '/rest/v1/distributionsets', [
          { name: 'ds-1', version: '1', modules: [] },
        ])
      ).status,
    ).toBe(409);

    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'ds-target' }]);
    const incomplete = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${created.json[1].id}/assignedTargets`,
      [{ id: 'ds-target' }],
    );
    expect(incomplete.status).toBe(400);
    expect(incomplete.json.errorCode).toBe('hawkbit.server.error.distributionset.incomplete');
  });

  it('assigns with type, weight and confirmation; actions show in the target list', async () => {
    const { setId } = await seed(backend, ['as-1', 'as-2', 'as-3'], 'assign');
    const res = await call(backend, 'POST', `/rest/v1/distributionsets/${setId}/assignedTargets`, [
      { id: 'as-1', type: 'forced' },
      {
        id: 'as-2',
        type: 'timeforced',
        forcetime: 1_700_003_600_000,
        weight: 500,
        maintenanceWindow: { schedule: '0 0 2 * * ?', duration: '01:00:00', timezone: '+00:00' },
      },
      { id: 'as-3', type: 'downloadonly', confirmationRequired: true },
      { id: 'unknown-controller' },
    ]);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ assigned: 3, alreadyAssigned: 0, total: 3 });
    expect(res.json.assignedActions[0]._links.self.href).toMatch(
      /\/rest\/v1\/targets\/as-1\/actions\/\d+$/,
    );

    const again = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
      [{ id: 'as-1' }],
    );
    expect(again.json).toMatchObject({
      assigned: 0,
      alreadyAssigned: 1,
      total: 1,
      assignedActions: [],
    });

    const list2 = await call(backend, 'GET', '/rest/v1/targets/as-2/actions');
    expect(list2.json).toMatchObject({ total: 1, size: 1 });
    expect(list2.json.content[0]).toMatchObject({
      type: 'update',
      active: true,
      status: 'running',
      forceType: 'timeforced',
      forceTime: 1_700_003_600_000,
      weight: 500,
      maintenanceWindow: { schedule: '0 0 2 * * ?', duration: '01:00:00', timezone: '+00:00' },
    });
    const list3 = await call(backend, 'GET', '/rest/v1/targets/as-3/actions?q=active==true');
    expect(list3.json.content[0]).toMatchObject({
      status: 'wait_for_confirmation',
      forceType: 'downloadonly',
      weight: 1000,
    });
    expect((await call(backend, 'GET', '/rest/v1/targets/as-1')).json.updateStatus).toBe('pending');
    const assigned = await call(backend, 'GET', '/rest/v1/targets/as-1/assignedDS');
    expect(assigned.json).toMatchObject({ id: setId, name: 'assign' });

    const single = await call(backend, 'POST', '/rest/v1/targets/as-1/assignedDS', {
      id: setId,
      type: 'soft',
      weight: 200,
    });
    expect(single.json).toMatchObject({ assigned: 0, alreadyAssigned: 1 });
    const weight = await call(backend, 'POST', '/rest/v1/targets/as-1/assignedDS', [
      { id: setId, weight: 1001 },
    ]);
    expect(weight.json.errorCode).toBe('hawkbit.server.error.repo.constraintViolation');
    const window = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
      [{ id: 'as-1', maintenanceWindow: { schedule: '0 0 2 * * ?' } }],
    );
    expect(window.json.errorCode).toBe('hawkbit.server.error.maintenanceScheduleInvalid');
    expect(
      (await call(backend, 'POST', '/rest/v1/targets/as-1/assignedDS', [{ id: 999999 }])).status,
    ).toBe(404);
    expect(
      (await call(backend, 'POST', '/rest/v1/targets/nobody/assignedDS', [{ id: setId }])).status,
    ).toBe(404);
    const twice = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
      [{ id: 'as-1' }, { id: 'as-1' }],
    );
    expect(twice.json.errorCode).toBe('hawkbit.server.error.multiAssignmentNotEnabled');
  });

  it('a new set cancels the open action; actions list newest first', async () => {
    const first = await seed(backend, ['sup-1'], 'sup-a');
    const second = await seed(backend, [], 'sup-b');
    await call(backend, 'POST', `/rest/v1/distributionsets/${first.setId}/assignedTargets`, [
      { id: 'sup-1' },
    ]);
    await call(backend, 'POST', `/rest/v1/distributionsets/${second.setId}/assignedTargets`, [
      { id: 'sup-1' },
    ]);
    const list = await call(backend, 'GET', '/rest/v1/targets/sup-1/actions');
    expect(
      list.json.content.map((a: { status: string; type: string }) => [a.status, a.type]),
    ).toEqual([
      ['running', 'update'],
      ['canceling', 'cancel'],
    ]);
  });

  it('cancels and force-quits an action with hawkBit codes and status history', async () => {
    const { setId } = await seed(backend, ['cx-1', 'cx-2'], 'cancel');
    const res = await call(backend, 'POST', `/rest/v1/distributionsets/${setId}/assignedTargets`, [
      { id: 'cx-1' },
      { id: 'cx-2' },
    ]);
    const [a1, a2] = res.json.assignedActions.map((a: { id: number }) => a.id);

    const notYet = await call(backend, 'DELETE', `/rest/v1/targets/cx-1/actions/${a1}?force=true`);
    expect(notYet.status).toBe(405);
    expect(notYet.json.errorCode).toBe('hawkbit.server.error.action.notForceQuitable');

    const cancel = await call(backend, 'DELETE', `/rest/v1/targets/cx-1/actions/${a1}`);
    expect(cancel.status).toBe(204);
    const canceling = await call(backend, 'GET', `/rest/v1/targets/cx-1/actions/${a1}`);
    expect(canceling.json).toMatchObject({ status: 'canceling', type: 'cancel', active: true });
    expect(canceling.json._links.canceledaction.href).toBe(canceling.json._links.self.href);
    expect(canceling.json._links.distributionset.name).toBe('cancel:1.0.0');
    const twice = await call(backend, 'DELETE', `/rest/v1/targets/cx-1/actions/${a1}`);
    expect(twice.status).toBe(405);
    expect(twice.json.errorCode).toBe('hawkbit.server.error.action.notCancelable');

    const quit = await call(backend, 'DELETE', `/rest/v1/targets/cx-1/actions/${a1}?force=true`);
    expect(quit.status).toBe(204);
    const closed = await call(backend, 'GET', `/rest/v1/targets/cx-1/actions/${a1}`);
    expect(closed.json).toMatchObject({ status: 'canceled', type: 'cancel', active: false });
    expect(
      (await call(backend, 'DELETE', `/rest/v1/targets/cx-1/actions/${a1}`)).json.errorCode,
    ).toBe('hawkbit.server.error.action.notCancelable');
    expect(
      (await call(backend, 'DELETE', `/rest/v1/targets/cx-1/actions/${a1}?force=true`)).status,
    ).toBe(405);

    const history = await call(backend, 'GET', `/rest/v1/targets/cx-1/actions/${a1}/status`);
    expect(history.json).toMatchObject({ total: 3, size: 3 });
    expect(history.json.content.map((e: { type: string }) => e.type)).toEqual([
      'canceled',
      'canceling',
      'running',
    ]);
    expect(history.json.content[0].messages).toEqual([
      'Update Server: A force quit has been performed.',
    ]);
    expect(history.json.content[1].messages).toEqual([
      'Update Server: manual cancelation requested',
    ]);
    expect(Object.keys(history.json.content[2]).sort()).toEqual([
      'id',
      'messages',
      'reportedAt',
      'timestamp',
      'type',
    ]);
    const paged = await call(
      backend,
      'GET',
      `/rest/v1/targets/cx-1/actions/${a1}/status?limit=1&offset=1`,
    );
    expect(paged.json).toMatchObject({ total: 3, size: 1 });
    expect(paged.json.content[0].type).toBe('canceling');

    expect((await call(backend, 'GET', '/rest/v1/targets/cx-1')).json.updateStatus).toBe('in_sync');
    const foreign = await call(backend, 'GET', `/rest/v1/targets/cx-1/actions/${a2}`);
    expect(foreign.status).toBe(404);
    expect(foreign.text).toBe('');
    const unknown = await call(backend, 'DELETE', '/rest/v1/targets/cx-1/actions/777777');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ errorCode: NOT_FOUND, info: { type: 'Action' } });
    expect((await call(backend, 'GET', '/rest/v1/targets/nobody/actions')).status).toBe(404);
  });
});
