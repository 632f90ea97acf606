import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HuaweiError,
  httpRequest,
  LOGIN_PATH,
  SUBSCRIBE_PATH,
  SwUpgradeResultNotify,
  SwUpgradeStateChangeNotify,
  UPGRADE_API_BASE,
  UpgradeTask,
} from '../src/index.js';
import {
  authorize,
  createHuaweiPlatform,
  createPlatformState,
  createUpgradeTask,
  errorAnswer,
  getUpgradeTask,
  handleNorthbound,
  listSubOperations,
  login,
  type NorthboundRequest,
  NotificationDelivery,
  type PlatformState,
  platformError,
  resultNotification,
  stateNotification,
  subscribe,
  type Task,
} from '../src/testing.js';
import { captureLogger } from './helpers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

function request(overrides: Partial<NorthboundRequest> = {}): NorthboundRequest {
  return {
    method: 'POST',
    path: '/',
    query: new URLSearchParams(),
    headers: { 'content-type': 'application/json' },
    body: '',
    ...overrides,
  };
}

function authorized(state: PlatformState, overrides: Partial<NorthboundRequest> = {}) {
  const tokens = login(
    state,
    request({ body: JSON.stringify({ appId: state.appId, secret: state.secret }) }),
  );
  const { accessToken } = tokens.body as { accessToken: string };
  return request({
    ...overrides,
    headers: {
      'content-type': 'application/json',
      app_key: state.appId,
      authorization: `Bearer ${accessToken}`,
    },
  });
}

describe('entry points', () => {
  it('the production entry has no stand-in; the testing entry has it', async () => {
    const main: Record<string, unknown> = await import('../src/index.js');
    const testing: Record<string, unknown> = await import('../src/testing.js');
    for (const name of ['HuaweiPlatform', 'createHuaweiPlatform', 'NotificationDelivery']) {
      expect(main[name]).toBeUndefined();
      expect(testing[name]).toBeTypeOf('function');
    }
    expect(main.createHuaweiReceiver).toBeTypeOf('function');
    // The subpath as other packages import it resolves to the same module.
    const published: Record<string, unknown> = await import('@otaflow/huawei-webhook/testing');
    expect(published.HuaweiPlatform).toBe(testing.HuaweiPlatform);
    expect(main.HuaweiUpgradeDispatcher).toBeTypeOf('function');
  });
});

describe('northbound endpoints, called directly', () => {
  it('login issues a token pair; only a right secret gets one', () => {
    const state = createPlatformState({ appId: 'a', secret: 's', tokenTtlSeconds: 60 });
    const answer = login(
      state,
      request({
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'appId=a&secret=s',
      }),
    );
    expect(answer).toMatchObject({ status: 200, body: { tokenType: 'bearer', expiresIn: 60 } });
    expect((answer.body as { accessToken: string }).accessToken).toBe(state.accessToken);
    expect(() => login(state, request({ body: '{"appId":"a","secret":"x"}' }))).toThrow(
      HuaweiError,
    );
  });

  it('a refusal is a PLATFORM_ERROR that answers in the platform error body', () => {
    const state = createPlatformState();
    let caught: unknown;
    try {
      authorize(state, request());
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HuaweiError);
    expect((caught as HuaweiError).code).toBe('PLATFORM_ERROR');
    expect(errorAnswer(caught)).toEqual({
      status: 401,
      body: { error_code: '1010005', error_desc: 'App_key or access_token is invalid.' },
    });
    expect(errorAnswer(new Error('boom'))).toBeUndefined();
    expect(errorAnswer(platformError(404, '123002', 'gone'))).toEqual({
      status: 404,
      body: { error_code: '123002', error_desc: 'gone' },
    });
  });

  it('subscribe keeps one callback per notifyType', () => {
    const state = createPlatformState();
    const sub = (url: string) =>
      subscribe(
        state,
        authorized(state, {
          body: JSON.stringify({ notifyType: 'swUpgradeResultNotify', callbackUrl: url }),
        }),
      );
    expect(sub('http://127.0.0.1:1/a').status).toBe(200);
    expect(sub('http://127.0.0.1:1/b').status).toBe(200);
    expect([...state.subscriptions]).toEqual([['swUpgradeResultNotify', 'http://127.0.0.1:1/b']]);
  });

  it('createUpgradeTask stores one sub-task per distinct device and hands the task on', () => {
    const state = createPlatformState({ packages: { f1: { version: '3.0' } } });
    const started: Task[] = [];
    const answer = createUpgradeTask(
      state,
      'software',
      request({ body: JSON.stringify({ fileId: 'f1', targets: { devices: ['d1', 'd2', 'd1'] } }) }),
      (task) => started.push(task),
    );
    expect(answer.status).toBe(200);
    const { operationId } = answer.body as { operationId: string };
    expect(started.map((t) => t.operationId)).toEqual([operationId]);
    expect(started[0]?.targetVersion).toBe('3.0');
    const view = UpgradeTask.parse(getUpgradeTask(state, operationId).body);
    expect(view).toMatchObject({
      operateType: 'software_upgrade',
      status: 'wait',
      staResult: { total: 2, wait: 2 },
    });
    const subs = listSubOperations(state, operationId, request()).body as {
      data: Array<{ deviceId: string }>;
    };
    expect(subs.data.map((s) => s.deviceId)).toEqual(['d1', 'd2']);
    expect(() =>
      createUpgradeTask(
        state,
        'software',
        request({ body: '{"fileId":"nope","targets":{"devices":["d"]}}' }),
        () => {},
      ),
    ).toThrow(/version package nope not found/);
  });

  it('handleNorthbound routes, authorizes and answers refusals in the platform form', () => {
    const state = createPlatformState();
    const none = () => {};
    expect(
      handleNorthbound(state, request({ path: SUBSCRIBE_PATH, body: '{}' }), none),
    ).toMatchObject({
      status: 401,
      body: { error_code: '1010005' },
    });
    expect(
      handleNorthbound(
        state,
        request({
          path: LOGIN_PATH,
          body: `{"appId":"${state.appId}","secret":"${state.secret}"}`,
        }),
        none,
      ).status,
    ).toBe(200);
    const unknown = handleNorthbound(
      state,
      authorized(state, { method: 'GET', path: '/nowhere' }),
      none,
    );
    expect(unknown).toMatchObject({ status: 404, body: { error_code: '100403' } });
    const missing = handleNorthbound(
      state,
      authorized(state, {
        method: 'GET',
        path: `${UPGRADE_API_BASE}/operations/nope/subOperations`,
      }),
      none,
    );
    expect(missing).toMatchObject({ status: 404, body: { error_code: '123002' } });
    const notJson = handleNorthbound(
      state,
      authorized(state, { path: SUBSCRIBE_PATH, body: '{' }),
      none,
    );
    expect(notJson).toMatchObject({ status: 400, body: { error_code: '120015' } });
  });
});

describe('simulated notifications', () => {
  const task: Task = {
    operationId: 'op',
    type: 'software',
    fileId: 'f',
    targetVersion: '2.0',
    request: { fileId: 'f', targets: { devices: ['d'] } },
    status: 'processing',
    createTime: 0,
    subs: [],
  };
  const sub = {
    subOperationId: 'sub',
    deviceId: 'd',
    status: 'fail' as const,
    createTime: 0,
    detailInfo: {},
  };

  it('are valid pushes of the platform', () => {
    SwUpgradeStateChangeNotify.parse(stateNotification('app', task, sub, 'downloaded'));
    const result = SwUpgradeResultNotify.parse(
      resultNotification('app', task, sub, {
        sourceVersion: '1.0',
        behaviour: { errorCode: '7' },
        seconds: 3,
        numericUpgradeTime: true,
      }),
    );
    expect(result).toMatchObject({
      swUpgradeResult: 'FAIL',
      errorCode: '7',
      curVersion: '1.0',
      upgradeTime: 3,
    });
    expect(stateNotification('app', { ...task, type: 'firmware' }, sub, 'updating')).toMatchObject({
      notifyType: 'fwUpgradeStateChangeNotify',
      step: '3',
    });
  });
});

describe('notification delivery on its own', () => {
  it('pushes compact JSON, retries a failure, and is idle once delivered', async () => {
    const bodies: string[] = [];
    let count = 0;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString());
        res.writeHead(++count === 1 ? 503 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const warnings: string[] = [];
    const delivery = new NotificationDelivery({
      retryIntervalMs: 5,
      logger: captureLogger('warn', (message) => warnings.push(message)),
    });
    closers.push(() => delivery.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`;
    const push = stateNotificationFor('downloading');
    delivery.enqueue(url, push);
    expect(delivery.idle).toBe(false);
    const deadline = Date.now() + 5_000;
    while (!delivery.idle && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(delivery.idle).toBe(true);
    expect(delivery.deliveries.map((d) => [d.attempt, d.status, d.ok])).toEqual([
      [1, 503, false],
      [2, 200, true],
    ]);
    expect(bodies).toEqual([JSON.stringify(push), JSON.stringify(push)]);
    expect(bodies[0]).toContain('"notifyType":"swUpgradeStateChangeNotify"');
    expect(warnings).toEqual([]);
  });
});

function stateNotificationFor(state: 'downloading') {
  return {
    notifyType: 'swUpgradeStateChangeNotify' as const,
    deviceId: 'd',
    appId: 'a',
    operationId: 'o',
    subOperationId: 's',
    swUpgradeState: state,
  };
}

describe('platform stand-in edges', () => {
  it('answers a body over its limit with 413 in the platform error body', async () => {
    const platform = await createHuaweiPlatform({ bodyLimit: 64 });
    closers.push(() => platform.close());
    const response = await httpRequest(`${platform.url}${LOGIN_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appId: platform.appId, secret: 'x'.repeat(100) }),
      timeoutMs: 5_000,
    });
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toEqual({
      error_code: '120015',
      error_desc: 'Bad request: the body is larger than 64 bytes.',
    });
  });

  it('close() stops devices in the middle of a pause instead of waiting for them', async () => {
    const platform = await createHuaweiPlatform({ startDelayMs: 60_000 });
    const token = platform.issueToken();
    const response = await httpRequest(
      `${platform.url}${UPGRADE_API_BASE}/operations/softwareUpgrade`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          app_key: platform.appId,
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ fileId: 'f', targets: { devices: ['d'] } }),
        timeoutMs: 5_000,
      },
    );
    expect(response.status).toBe(200);
    const started = Date.now();
    await platform.close();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
