import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HuaweiError,
  httpRequest,
  LOGIN_PATH,
  SUBSCRIBE_PATH,
  SubOperationPage,
  UPGRADE_API_BASE,
  UpgradeTask,
} from '../src/index.js';
import { createHuaweiPlatform, type HuaweiPlatform } from '../src/testing.js';

let platform: HuaweiPlatform;
beforeAll(async () => {
  // Subscriptions here point at closed ports: messages run out of cache time quickly.
  platform = await createHuaweiPlatform({
    stepDelayMs: 1,
    startDelayMs: 1,
    delivery: { retryIntervalMs: 5, messageTtlMs: 200 },
  });
});
afterAll(async () => {
  await platform?.close();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await httpRequest(`${platform.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    timeoutMs: 5_000,
  });
  return { status: response.status, body: response.body ? JSON.parse(response.body) : undefined };
}

async function login(): Promise<Record<string, string>> {
  const response = await httpRequest(`${platform.url}${LOGIN_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ appId: platform.appId, secret: platform.secret }).toString(),
    timeoutMs: 5_000,
  });
  expect(response.status).toBe(200);
  const tokens = JSON.parse(response.body);
  expect(tokens).toMatchObject({ scope: 'default', tokenType: 'bearer', expiresIn: 3600 });
  return { app_key: platform.appId, authorization: `Bearer ${tokens.accessToken}` };
}

describe('platform stand-in: login and subscription', () => {
  it('refuses a wrong secret, and only the latest token is valid', async () => {
    const wrong = await call('POST', LOGIN_PATH, { appId: platform.appId, secret: 'nope' });
    expect(wrong).toMatchObject({ status: 401, body: { error_code: '100208' } });
    const first = await login();
    const second = await login();
    const sub = { notifyType: 'swUpgradeStateChangeNotify', callbackUrl: 'http://127.0.0.1:1/cb' };
    expect((await call('POST', SUBSCRIBE_PATH, sub, first)).body).toMatchObject({
      error_code: '1010005',
    });
    expect((await call('POST', SUBSCRIBE_PATH, sub, second)).status).toBe(200);
    expect(
      (await call('POST', SUBSCRIBE_PATH, sub, { authorization: second.authorization! })).status,
    ).toBe(401);
  });

  it('takes callbackUrl and the SDKs callbackurl, one notifyType per call', async () => {
    const auth = await login();
    expect(
      (
        await call(
          'POST',
          SUBSCRIBE_PATH,
          { notifyType: 'fwUpgradeResultNotify', callbackurl: 'https://127.0.0.1:8443/a' },
          auth,
        )
      ).status,
    ).toBe(200);
    expect(platform.subscriptions().get('fwUpgradeResultNotify')).toBe('https://127.0.0.1:8443/a');
    const many = await call(
      'POST',
      SUBSCRIBE_PATH,
      {
        notifyType: ['swUpgradeResultNotify', 'fwUpgradeResultNotify'],
        callbackUrl: 'http://127.0.0.1:1/b',
      },
      auth,
    );
    expect(many).toMatchObject({ status: 400, body: { error_code: '100228' } });
    const unknown = await call(
      'POST',
      SUBSCRIBE_PATH,
      { notifyType: 'deviceAdded', callbackUrl: 'http://127.0.0.1:1/b' },
      auth,
    );
    expect(unknown.status).toBe(400);
    const badUrl = await call(
      'POST',
      SUBSCRIBE_PATH,
      { notifyType: 'swUpgradeResultNotify', callbackUrl: 'ftp://x' },
      auth,
    );
    expect(badUrl).toMatchObject({ status: 400, body: { error_code: '100222' } });
    const noUrl = await call('POST', SUBSCRIBE_PATH, { notifyType: 'swUpgradeResultNotify' }, auth);
    expect(noUrl).toMatchObject({ status: 400, body: { error_code: '100222' } });
  });
});

describe('platform stand-in: upgrade tasks', () => {
  it('creates a task with one sub-task per device and reports its progress', async () => {
    const auth = await login();
    const created = await call(
      'POST',
      `${UPGRADE_API_BASE}/operations/firmwareUpgrade`,
      {
        fileId: 'fw-3.1',
        targets: { devices: ['d1', 'd2', 'd1'] },
        policy: { executeType: 'now', retryType: true, retryTimes: 2 },
      },
      auth,
    );
    expect(created.status).toBe(200);
    const { operationId } = created.body as { operationId: string };
    await platform.settled();
    const task = UpgradeTask.parse(
      (await call('GET', `${UPGRADE_API_BASE}/operations/${operationId}`, undefined, auth)).body,
    );
    expect(task).toMatchObject({
      operateType: 'firmware_upgrade',
      status: 'success',
      staResult: { total: 2, success: 2, fail: 0 },
    });
    expect(task.stopTime).toMatch(/^\d{8}T\d{6}Z$/);
    const subs = SubOperationPage.parse(
      (
        await call(
          'GET',
          `${UPGRADE_API_BASE}/operations/${operationId}/subOperations?pageNo=0&pageSize=1`,
          undefined,
          auth,
        )
      ).body,
    );
    expect(subs.totalCount).toBe(2);
    expect(subs.data).toHaveLength(1);
    const list = await call(
      'GET',
      `${UPGRADE_API_BASE}/operations?operationType=firmware_upgrade&deviceId=d2`,
      undefined,
      auth,
    );
    expect(list.body.data.map((t: { operationId: string }) => t.operationId)).toContain(
      operationId,
    );
    expect(platform.deviceVersion('d1')).toBe('fw-3.1');
  });

  it.each([
    ['neither devices nor groups', { fileId: 'f', targets: {} }, '123022'],
    [
      'both devices and groups',
      { fileId: 'f', targets: { devices: ['d'], deviceGroups: ['g'] } },
      '123023',
    ],
    [
      'over 256 devices',
      { fileId: 'f', targets: { devices: Array.from({ length: 257 }, (_, i) => `d${i}`) } },
      '123024',
    ],
    [
      'a bad executeType',
      { fileId: 'f', targets: { devices: ['d'] }, policy: { executeType: 'later' } },
      '123025',
    ],
    [
      'retryTimes out of range',
      { fileId: 'f', targets: { devices: ['d'] }, policy: { retryType: true, retryTimes: 9 } },
      '123028',
    ],
    ['no fileId', { targets: { devices: ['d'] } }, '120015'],
  ])('refuses a task with %s', async (_name, body, code) => {
    const auth = await login();
    const answer = await call('POST', `${UPGRADE_API_BASE}/operations/softwareUpgrade`, body, auth);
    expect(answer).toMatchObject({ status: 400, body: { error_code: code } });
  });

  it('404 for an unknown task; the url getter needs a started platform', async () => {
    const auth = await login();
    expect((await call('GET', `${UPGRADE_API_BASE}/operations/nope`, undefined, auth)).status).toBe(
      404,
    );
    const { HuaweiPlatform } = await import('../src/testing.js');
    expect(() => new HuaweiPlatform().url).toThrow(HuaweiError);
  });
});
