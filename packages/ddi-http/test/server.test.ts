import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DdiControllerBase, DdiDeploymentBase, DdiExceptionInfo } from '../src/index.js';
import {
  addRelease,
  dump,
  gw,
  type Harness,
  randomBytesOf,
  raw,
  startHarness,
  unique,
} from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const base = (cid: string, tenant = 'DEFAULT') => `${h.url}/${tenant}/controller/v1/${cid}`;
const json = { ...gw, 'content-type': 'application/json' };
const closedOk = { status: { execution: 'closed', result: { finished: 'success' } } };

async function assigned(
  opts: Parameters<Harness['service']['assign']>[1][number] extends infer T
    ? Partial<T>
    : never = {},
) {
  const cid = unique('dev');
  await h.service.createTarget({ controllerId: cid });
  const rel = await addRelease(h, [{ name: 'fw.bin', bytes: randomBytesOf(1000) }]);
  const { actions } = await h.service.assign(rel.setId, [{ controllerId: cid, ...opts }]);
  return { cid, action: actions[0]!, ...rel };
}

describe('controller base (E1)', () => {
  it('registers an unknown controller polling with the gateway token and answers hal+json', async () => {
    const cid = unique('plug');
    const res = await raw(base(cid), { headers: gw });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/hal+json');
    expect(JSON.parse(res.text)).toEqual({
      config: { polling: { sleep: '00:00:01' } },
      _links: { configData: { href: `${base(cid)}/configData` } },
    });
    const target = await h.service.getTarget(cid);
    expect(target).toMatchObject({ updateStatus: 'REGISTERED', channel: 'ddi' });
  });

  it('matches the tenant case-insensitively, answers json on request, and 304 on an unchanged ETag', async () => {
    const { cid, action } = await assigned();
    const res = await raw(base(cid, 'default'), { headers: { ...gw, accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    const body = DdiControllerBase.parse(JSON.parse(res.text));
    expect(body._links?.deploymentBase?.href).toMatch(
      new RegExp(`^${base(cid, 'default')}/deploymentBase/${action.id}\\?c=-?\\d+$`),
    );
    const etag = String(res.headers.etag);
    expect(etag).toMatch(/^"0[0-9a-f]{32}"$/);
    const again = await raw(base(cid, 'default'), { headers: { ...gw, 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  it('leaves other paths and other tenants to the host server', async () => {
    expect((await raw(`${h.url}/other/controller/v1/x`, { headers: gw })).status).toBe(418);
    expect((await raw(`${h.url}/rest/v1/targets`)).status).toBe(418);
  });

  it('builds hrefs from the Host header', async () => {
    const { cid } = await assigned();
    const res = await raw(base(cid), { headers: { ...gw, host: 'ota.example.test:8443' } });
    expect(JSON.parse(res.text)._links.deploymentBase.href).toMatch(
      /^http:\/\/ota\.example\.test:8443\/DEFAULT\/controller\/v1\//,
    );
  });
});

describe('deployment (E2, E3, E6, E14-E16)', () => {
  it('serves the deployment, records RETRIEVED once, and closes on feedback', async () => {
    const { cid, action, module } = await assigned({ type: 'soft' });
    const href = `${base(cid)}/deploymentBase/${action.id}?c=1&actionHistory=5`;
    const res = await raw(href, { headers: gw });
    expect(res.status).toBe(200);
    const body = DdiDeploymentBase.parse(JSON.parse(res.text));
    expect(JSON.parse(res.text).id).toBe(String(action.id));
    expect(body.deployment).toMatchObject({ download: 'attempt', update: 'attempt' });
    const art = body.deployment.chunks[0]!.artifacts[0]!;
    expect(body.deployment.chunks[0]).toMatchObject({
      part: 'os',
      name: 'firmware',
      version: '1.0.0',
    });
    expect(art).toMatchObject({
      filename: 'fw.bin',
      size: 1000,
      hashes: module.artifacts[0]!.hashes,
    });
    expect(art._links?.['download-http']?.href).toBe(
      `${base(cid)}/softwaremodules/${module.id}/artifacts/fw.bin`,
    );
    expect(art._links?.['md5sum-http']?.href).toBe(
      `${base(cid)}/softwaremodules/${module.id}/artifacts/fw.bin.MD5SUM`,
    );
    await raw(href, { headers: gw });
    const history = (await h.service.getActionHistory(action.id))!.map((e) => e.status);
    expect(history.filter((s) => s === 'RETRIEVED')).toHaveLength(1);

    const fb = await raw(`${base(cid)}/deploymentBase/${action.id}/feedback`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        id: action.id,
        time: '20240101T000000',
        status: {
          execution: 'proceeding',
          result: { finished: 'none', progress: { cnt: 3, of: 1 } },
          details: ['working'],
        },
      }),
    });
    expect(fb.status).toBe(200);
    expect(fb.text).toBe('');
    const done = await raw(`${base(cid)}/deploymentBase/${action.id}/feedback`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(closedOk),
    });
    expect(done.status).toBe(200);
    expect(await h.service.getAction(action.id)).toMatchObject({
      status: 'FINISHED',
      active: false,
    });
    expect((await h.service.getTarget(cid))?.updateStatus).toBe('IN_SYNC');

    const before = await dump(h.service);
    const late = await raw(`${base(cid)}/deploymentBase/${action.id}/feedback`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ status: { execution: 'closed', result: { finished: 'failure' } } }),
    });
    expect(late.status).toBe(410);
    expect(await dump(h.service)).toBe(before);

    const root = JSON.parse((await raw(base(cid), { headers: gw })).text);
    expect(root._links.installedBase.href).toBe(`${base(cid)}/installedBase/${action.id}`);
    const installed = await raw(root._links.installedBase.href, { headers: gw });
    expect(installed.status).toBe(200);
    expect(DdiDeploymentBase.parse(JSON.parse(installed.text)).id).toBe(String(action.id));
    const list = await raw(`${base(cid)}/softwaremodules/${module.id}/artifacts`, { headers: gw });
    expect(JSON.parse(list.text)).toHaveLength(1);
  });

  it('serves the .MD5SUM resource and the artifact with TargetToken auth', async () => {
    const { cid, module } = await assigned();
    const token = (await h.service.getTarget(cid))!.securityToken;
    const auth = { authorization: `TargetToken ${token}` };
    const md5 = await raw(`${base(cid)}/softwaremodules/${module.id}/artifacts/fw.bin.MD5SUM`, {
      headers: auth,
    });
    expect(md5.status).toBe(200);
    expect(md5.text).toBe(`${module.artifacts[0]!.hashes.md5}  fw.bin`);
    const file = await raw(`${base(cid)}/softwaremodules/${module.id}/artifacts/fw.bin`, {
      headers: auth,
    });
    expect(file.status).toBe(200);
    expect(file.body.equals(randomBytesOf(1000))).toBe(true);
    expect(file.headers.etag).toBe(`"${module.artifacts[0]!.hashes.sha1}"`);
  });

  it('offers maintenance windows as update skip until they open', async () => {
    const closed = await assigned({
      maintenanceWindow: { schedule: '0 0 0 1 1 ? 2099', duration: '00:10:00', timezone: '+00:00' },
    });
    const b1 = DdiDeploymentBase.parse(
      JSON.parse(
        (await raw(`${base(closed.cid)}/deploymentBase/${closed.action.id}`, { headers: gw })).text,
      ),
    );
    expect(b1.deployment).toMatchObject({
      download: 'forced',
      update: 'skip',
      maintenanceWindow: 'unavailable',
    });
    const open = await assigned({
      maintenanceWindow: { schedule: '0 * * * * ?', duration: '00:02:00', timezone: '+01:00' },
    });
    const b2 = DdiDeploymentBase.parse(
      JSON.parse(
        (await raw(`${base(open.cid)}/deploymentBase/${open.action.id}`, { headers: gw })).text,
      ),
    );
    expect(b2.deployment).toMatchObject({
      download: 'forced',
      update: 'forced',
      maintenanceWindow: 'available',
    });
    const dl = await assigned({ type: 'downloadonly' });
    const b3 = DdiDeploymentBase.parse(
      JSON.parse(
        (await raw(`${base(dl.cid)}/deploymentBase/${dl.action.id}`, { headers: gw })).text,
      ),
    );
    expect(b3.deployment).toMatchObject({ download: 'forced', update: 'skip' });
    expect(b3.deployment.maintenanceWindow).toBeUndefined();
  });
});

describe('cancel (E4, E5)', () => {
  it('serves the cancel, refuses cancel feedback for an action not canceling, and completes on closed', async () => {
    const { cid, action } = await assigned();
    const before = await dump(h.service);
    const early = await raw(`${base(cid)}/cancelAction/${action.id}/feedback`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(closedOk),
    });
    expect(early.status).toBe(405);
    expect(JSON.parse(early.text).errorCode).toBe('hawkbit.server.error.action.notCancelable');
    expect((await raw(`${base(cid)}/cancelAction/${action.id}`, { headers: gw })).status).toBe(404);
    expect(await dump(h.service)).toBe(before);
    await h.service.cancel(action.id);
    const root = JSON.parse((await raw(base(cid), { headers: gw })).text);
    expect(root._links.cancelAction.href).toBe(`${base(cid)}/cancelAction/${action.id}`);
    expect((await raw(`${base(cid)}/deploymentBase/${action.id}`, { headers: gw })).status).toBe(
      404,
    );
    const cancel = await raw(root._links.cancelAction.href, { headers: gw });
    expect(JSON.parse(cancel.text)).toEqual({
      id: String(action.id),
      cancelAction: { stopId: String(action.id) },
    });
    const ok = await raw(`${root._links.cancelAction.href}/feedback`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(closedOk),
    });
    expect(ok.status).toBe(200);
    expect((await h.service.getAction(action.id))?.status).toBe('CANCELED');
    const settled = await dump(h.service);
    const again = await raw(`${root._links.cancelAction.href}/feedback`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(closedOk),
    });
    expect(again.status).toBe(200);
    expect(await dump(h.service)).toBe(settled);
  });
});

describe('confirmation (E9-E13)', () => {
  it('offers consent, takes confirmed, and toggles auto-confirm (409 when already on)', async () => {
    const { cid, action } = await assigned({ confirmationRequired: true });
    const root = JSON.parse((await raw(base(cid), { headers: gw })).text);
    expect(root._links.confirmationBase.href).toMatch(
      new RegExp(`/confirmationBase/${action.id}\\?c=`),
    );
    expect((await raw(`${base(cid)}/deploymentBase/${action.id}`, { headers: gw })).status).toBe(
      404,
    );
    const cb = JSON.parse((await raw(`${base(cid)}/confirmationBase`, { headers: gw })).text);
    expect(cb.autoConfirm).toEqual({ active: false });
    expect(cb._links.activateAutoConfirm.href).toBe(
      `${base(cid)}/confirmationBase/activateAutoConfirm`,
    );
    const detail = JSON.parse((await raw(root._links.confirmationBase.href, { headers: gw })).text);
    expect(detail.id).toBe(String(action.id));
    expect(detail.confirmation.chunks).toHaveLength(1);
    const fbUrl = `${base(cid)}/confirmationBase/${action.id}/feedback`;
    const denied = await raw(fbUrl, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ confirmation: 'denied', details: ['not now'] }),
    });
    expect(denied.status).toBe(200);
    expect((await h.service.getAction(action.id))?.status).toBe('WAIT_FOR_CONFIRMATION');
    const ok = await raw(fbUrl, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ confirmation: 'confirmed', code: 200 }),
    });
    expect(ok.status).toBe(200);
    expect((await h.service.getAction(action.id))?.status).toBe('RUNNING');
    const before = await dump(h.service);
    expect(
      (
        await raw(fbUrl, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ confirmation: 'confirmed' }),
        })
      ).status,
    ).toBe(404);
    expect(await dump(h.service)).toBe(before);

    const activate = `${base(cid)}/confirmationBase/activateAutoConfirm`;
    expect((await raw(activate, { method: 'POST', headers: gw })).status).toBe(200);
    const on = JSON.parse((await raw(`${base(cid)}/confirmationBase`, { headers: gw })).text);
    expect(on.autoConfirm).toMatchObject({
      active: true,
      remark: 'Initiated using the Device Direct Integration API without providing a remark.',
    });
    expect(on._links.deactivateAutoConfirm).toBeDefined();
    const twice = await raw(activate, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ initiator: 'me' }),
    });
    expect(twice.status).toBe(409);
    expect(JSON.parse(twice.text).errorCode).toBe(
      'hawkbit.server.error.repo.autoConfAlreadyActive',
    );
    expect(
      (
        await raw(`${base(cid)}/confirmationBase/deactivateAutoConfirm`, {
          method: 'POST',
          headers: gw,
        })
      ).status,
    ).toBe(200);
    expect((await h.service.getTarget(cid))?.autoConfirm).toBeUndefined();
  });
});

describe('configData and installedBase (E7, E8)', () => {
  it('merges, replaces and removes attributes; a null value deletes in merge', async () => {
    const cid = unique('cfg');
    await raw(base(cid), { headers: gw });
    const put = (body: unknown) =>
      raw(`${base(cid)}/configData`, { method: 'PUT', headers: json, body: JSON.stringify(body) });
    expect((await put({ data: { a: '1', b: '2' } })).status).toBe(200);
    expect((await h.service.getTarget(cid))?.attributes).toEqual({ a: '1', b: '2' });
    expect((await put({ mode: 'merge', data: { c: '3', a: null } })).status).toBe(200);
    expect((await h.service.getTarget(cid))?.attributes).toEqual({ b: '2', c: '3' });
    expect((await put({ mode: 'remove', data: { b: '' } })).status).toBe(200);
    expect((await h.service.getTarget(cid))?.attributes).toEqual({ c: '3' });
    expect(
      (await put({ mode: 'replace', data: { z: '9' }, id: '', time: '20260101T000000' })).status,
    ).toBe(200);
    expect((await h.service.getTarget(cid))?.attributes).toEqual({ z: '9' });
    const root = JSON.parse((await raw(base(cid), { headers: gw })).text);
    expect(root._links).toBeUndefined();
  });

  it('records an offline installation: 201 first, 200 after, 404 for an unknown set', async () => {
    const cid = unique('inst');
    await raw(base(cid), { headers: gw });
    await addRelease(h, [{ name: 'x.bin', bytes: randomBytesOf(10) }], '7.7.7');
    const put = (body: unknown) =>
      raw(`${base(cid)}/installedBase`, {
        method: 'PUT',
        headers: json,
        body: JSON.stringify(body),
      });
    expect((await put({ name: 'firmware', version: '7.7.7' })).status).toBe(201);
    expect((await h.service.getTarget(cid))?.updateStatus).toBe('IN_SYNC');
    expect((await put({ name: 'firmware', version: '7.7.7' })).status).toBe(200);
    const before = await dump(h.service);
    expect((await put({ name: 'firmware', version: '0.0.0-none' })).status).toBe(404);
    expect(await dump(h.service)).toBe(before);
  });
});

describe('bad input changes nothing', () => {
  const cases: Array<
    [
      string,
      (ctx: {
        cid: string;
        actionId: number;
        moduleId: number;
        token: string;
      }) => Promise<{ status: number; text: string }>,
      number,
      boolean?,
    ]
  > = [
    [
      'malformed JSON',
      (c) =>
        raw(`${base(c.cid)}/deploymentBase/${c.actionId}/feedback`, {
          method: 'POST',
          headers: json,
          body: '{"status": ',
        }),
      400,
      true,
    ],
    [
      'missing status.result.finished',
      (c) =>
        raw(`${base(c.cid)}/deploymentBase/${c.actionId}/feedback`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ status: { execution: 'closed', result: {} } }),
        }),
      400,
      true,
    ],
    [
      'missing status',
      (c) =>
        raw(`${base(c.cid)}/deploymentBase/${c.actionId}/feedback`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ id: '1' }),
        }),
      400,
      true,
    ],
    [
      'unknown execution',
      (c) =>
        raw(`${base(c.cid)}/deploymentBase/${c.actionId}/feedback`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ status: { execution: 'done', result: { finished: 'success' } } }),
        }),
      400,
      true,
    ],
    [
      'empty configData',
      (c) =>
        raw(`${base(c.cid)}/configData`, {
          method: 'PUT',
          headers: json,
          body: JSON.stringify({ data: {} }),
        }),
      400,
      true,
    ],
    [
      'attribute too long',
      (c) =>
        raw(`${base(c.cid)}/configData`, {
          method: 'PUT',
          headers: json,
          body: JSON.stringify({ data: { k: 'v'.repeat(129) } }),
        }),
      400,
      true,
    ],
    [
      'confirmation missing',
      (c) =>
        raw(`${base(c.cid)}/confirmationBase/${c.actionId}/feedback`, {
          method: 'POST',
          headers: json,
          body: '{}',
        }),
      400,
      true,
    ],
    ['controllerId too long', () => raw(base('x'.repeat(257)), { headers: gw }), 400, true],
    [
      'wrong Content-Type',
      (c) =>
        raw(`${base(c.cid)}/deploymentBase/${c.actionId}/feedback`, {
          method: 'POST',
          headers: { ...gw, 'content-type': 'text/plain' },
          body: JSON.stringify(closedOk),
        }),
      415,
    ],
    [
      'no Content-Type',
      (c) =>
        raw(`${base(c.cid)}/configData`, {
          method: 'PUT',
          headers: gw,
          body: JSON.stringify({ data: { a: 'b' } }),
        }),
      415,
    ],
    [
      'unsupported Accept',
      (c) => raw(base(c.cid), { headers: { ...gw, accept: 'application/atom+xml' } }),
      406,
    ],
    [
      'unknown target',
      (c) => raw(`${base('nobody-' + c.cid)}/deploymentBase/${c.actionId}`, { headers: gw }),
      404,
      true,
    ],
    [
      'unknown target feedback',
      (c) =>
        raw(`${base('nobody-' + c.cid)}/deploymentBase/${c.actionId}/feedback`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify(closedOk),
        }),
      404,
      true,
    ],
    [
      'unknown action',
      (c) => raw(`${base(c.cid)}/deploymentBase/999999`, { headers: gw }),
      404,
      true,
    ],
    [
      'unknown action feedback',
      (c) =>
        raw(`${base(c.cid)}/deploymentBase/999999/feedback`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify(closedOk),
        }),
      404,
      true,
    ],
    [
      'action of another target',
      (c) =>
        raw(`${base(c.cid)}/deploymentBase/1/feedback`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify(closedOk),
        }),
      404,
      true,
    ],
    [
      'unknown module',
      (c) => raw(`${base(c.cid)}/softwaremodules/99999/artifacts/fw.bin`, { headers: gw }),
      404,
      true,
    ],
    [
      'unknown file',
      (c) =>
        raw(`${base(c.cid)}/softwaremodules/${c.moduleId}/artifacts/nope.bin`, { headers: gw }),
      404,
      true,
    ],
    [
      'filename leaving the store (%2F)',
      (c) =>
        raw(`${base(c.cid)}/softwaremodules/${c.moduleId}/artifacts/..%2F..%2F..%2Fetc%2Fpasswd`, {
          headers: gw,
        }),
      404,
    ],
    [
      'filename leaving the store (..)',
      (c) => raw(`${base(c.cid)}/softwaremodules/${c.moduleId}/artifacts/%2E%2E`, { headers: gw }),
      404,
    ],
    [
      'filename leaving the store (raw ../)',
      (c) =>
        raw(`${base(c.cid)}/softwaremodules/${c.moduleId}/artifacts/../../../../etc/passwd`, {
          headers: gw,
        }),
      404,
    ],
    [
      'body over the limit',
      (c) =>
        raw(`${base(c.cid)}/deploymentBase/${c.actionId}/feedback`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({
            status: {
              execution: 'proceeding',
              result: { finished: 'none' },
              details: ['x'.repeat(20_000)],
            },
          }),
        }),
      413,
    ],
    [
      'missing token',
      (c) =>
        raw(`${base(c.cid)}/deploymentBase/${c.actionId}/feedback`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(closedOk),
        }),
      401,
    ],
    [
      'wrong gateway token',
      (c) => raw(base(c.cid), { headers: { authorization: 'GatewayToken nope' } }),
      401,
    ],
    [
      'wrong target token',
      (c) =>
        raw(`${base(c.cid)}/deploymentBase/${c.actionId}/feedback`, {
          method: 'POST',
          headers: { authorization: 'TargetToken nope', 'content-type': 'application/json' },
          body: JSON.stringify(closedOk),
        }),
      401,
    ],
    [
      'target token of another target',
      (c) =>
        raw(`${base('other-' + c.cid)}`, { headers: { authorization: `TargetToken ${c.token}` } }),
      401,
    ],
    [
      'wrong header scheme',
      (c) => raw(base(c.cid), { headers: { authorization: `Token ${c.token}` } }),
      401,
    ],
    [
      'wrong method',
      (c) => raw(`${base(c.cid)}/deploymentBase/${c.actionId}`, { method: 'DELETE', headers: gw }),
      405,
    ],
    ['unknown sub-resource', (c) => raw(`${base(c.cid)}/nothingHere`, { headers: gw }), 404],
  ];

  let ctx: { cid: string; actionId: number; moduleId: number; token: string };
  beforeAll(async () => {
    const a = await assigned();
    ctx = {
      cid: a.cid,
      actionId: a.action.id,
      moduleId: a.module.id,
      token: (await h.service.getTarget(a.cid))!.securityToken,
    };
  });

  for (const [name, send, status, errorBody] of cases) {
    it(`${name} -> ${status}`, async () => {
      const before = await dump(h.service);
      const res = await send(ctx);
      expect(res.status).toBe(status);
      if (errorBody) {
        const info = DdiExceptionInfo.parse(JSON.parse(res.text));
        expect(info.errorCode).toMatch(/^hawkbit\.server\.error\./);
      } else {
        expect(res.text === '' || res.status === 404).toBe(true);
      }
      expect(await dump(h.service)).toBe(before);
    });
  }

  it('refuses anonymous access unless enabled, and then lets it register', async () => {
    const anon = await startHarness({ auth: { targetToken: true, anonymous: true } });
    try {
      const cid = unique('anon');
      expect((await raw(`${anon.url}/DEFAULT/controller/v1/${cid}`)).status).toBe(200);
      expect((await anon.service.getTarget(cid))?.updateStatus).toBe('REGISTERED');
      expect(
        (
          await raw(`${anon.url}/DEFAULT/controller/v1/${cid}`, {
            headers: { authorization: 'GatewayToken x' },
          })
        ).status,
      ).toBe(401);
    } finally {
      await anon.close();
    }
    const strict = await startHarness({ auth: { targetToken: true }, autoRegister: false });
    try {
      const before = await dump(strict.service);
      expect((await raw(`${strict.url}/DEFAULT/controller/v1/someone`)).status).toBe(401);
      expect(await dump(strict.service)).toBe(before);
    } finally {
      await strict.close();
    }
  });
});
