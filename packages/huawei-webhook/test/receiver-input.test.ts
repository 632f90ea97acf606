import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHuaweiReceiver,
  createHuaweiReceiverServer,
  HUAWEI_SUB_OPERATION_REF,
  type HuaweiReceiverServer,
  httpRequest,
  subOperationRef,
} from '../src/index.js';
import { post, setup, storedState } from './helpers.js';

const ids = { deviceId: 'dev-1', appId: 'app', operationId: 'op-1', subOperationId: 'sub-1' };
const good = JSON.stringify({
  notifyType: 'swUpgradeStateChangeNotify',
  ...ids,
  swUpgradeState: 'downloading',
});

let ctx: Awaited<ReturnType<typeof setup>>;
let server: HuaweiReceiverServer;
let guarded: HuaweiReceiverServer;

beforeAll(async () => {
  ctx = await setup({ deviceIds: ['dev-1'] });
  const { actions } = await ctx.service.assign(ctx.set.id, [{ controllerId: 'dev-1' }]);
  await ctx.service.setActionRef(
    actions[0]!.id,
    HUAWEI_SUB_OPERATION_REF,
    subOperationRef('dev-1', 'op-1', 'sub-1'),
  );
  server = await createHuaweiReceiverServer({
    service: ctx.service,
    bodyLimit: 1024,
    matchWaitMs: 0,
  });
  guarded = await createHuaweiReceiverServer({
    service: ctx.service,
    path: '/hooks/huawei',
    basicAuth: { username: 'platform', password: 's3cret' },
    secret: 'token-123',
    matchWaitMs: 0,
  });
});
afterAll(async () => {
  await server?.close();
  await guarded?.close();
});

/** Sends a request and proves nothing stored changed and nothing was remembered as seen. */
async function rejected(send: () => Promise<{ status: number; body: string }>, receiver = server) {
  const before = await storedState(ctx.store, 'dev-1');
  const seen = receiver.receiver.dedupeCount;
  const response = await send();
  expect(await storedState(ctx.store, 'dev-1')).toBe(before);
  expect(receiver.receiver.dedupeCount).toBe(seen);
  return {
    status: response.status,
    body: response.body
      ? (JSON.parse(response.body) as { result: string; reason: string })
      : undefined,
  };
}

describe('bad input: a clear answer and nothing stored', () => {
  it.each([
    ['invalid JSON', '{"notifyType": "swUpgradeStateChangeNotify",', /not valid JSON/],
    ['a JSON array', '[1,2]', /JSON object/],
    ['a JSON string', '"swUpgradeStateChangeNotify"', /JSON object/],
    ['no notifyType', JSON.stringify({ ...ids, swUpgradeState: 'downloading' }), /notifyType/],
    ['a numeric notifyType', JSON.stringify({ ...ids, notifyType: 7 }), /notifyType/],
    [
      'no deviceId',
      JSON.stringify({
        notifyType: 'swUpgradeStateChangeNotify',
        ...ids,
        deviceId: undefined,
        swUpgradeState: 'downloading',
      }),
      /deviceId/,
    ],
    [
      'an empty subOperationId',
      JSON.stringify({
        notifyType: 'swUpgradeStateChangeNotify',
        ...ids,
        subOperationId: '',
        swUpgradeState: 'downloading',
      }),
      /subOperationId/,
    ],
    [
      'no swUpgradeState',
      JSON.stringify({ notifyType: 'swUpgradeStateChangeNotify', ...ids }),
      /swUpgradeState/,
    ],
    [
      'a numeric swUpgradeState',
      JSON.stringify({ notifyType: 'swUpgradeStateChangeNotify', ...ids, swUpgradeState: 1 }),
      /swUpgradeState/,
    ],
    [
      'no swUpgradeResult',
      JSON.stringify({ notifyType: 'swUpgradeResultNotify', ...ids, resultDesc: 'x' }),
      /swUpgradeResult/,
    ],
    [
      'an object upgradeTime',
      JSON.stringify({
        notifyType: 'swUpgradeResultNotify',
        ...ids,
        swUpgradeResult: 'SUCCESS',
        upgradeTime: {},
      }),
      /upgradeTime/,
    ],
    [
      'no step',
      JSON.stringify({ notifyType: 'fwUpgradeStateChangeNotify', ...ids, stepDesc: 'downloading' }),
      /step/,
    ],
    [
      'no firmware status',
      JSON.stringify({ notifyType: 'fwUpgradeResultNotify', ...ids, statusDesc: 'ok' }),
      /status/,
    ],
  ])('400 for %s', async (_name, body, reason) => {
    const answer = await rejected(() => post(server.url, body));
    expect(answer.status).toBe(400);
    expect(answer.body?.result).toBe('rejected');
    expect(answer.body?.reason).toMatch(reason);
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['form encoded', { 'content-type': 'application/x-www-form-urlencoded' }],
  ])('415 for a %s body', async (_name, headers) => {
    const answer = await rejected(() => post(server.url, good, headers));
    expect(answer.status).toBe(415);
  });

  it('415 without a content type', async () => {
    const answer = await rejected(() =>
      httpRequest(server.url, { method: 'POST', body: good, timeoutMs: 5_000 }),
    );
    expect(answer.status).toBe(415);
  });

  it('413 for a body over the limit, declared by content-length', async () => {
    const big = JSON.stringify({
      notifyType: 'swUpgradeStateChangeNotify',
      ...ids,
      swUpgradeState: 'downloading',
      pad: 'x'.repeat(2048),
    });
    const answer = await rejected(() => post(server.url, big));
    expect(answer.status).toBe(413);
  });

  it('413 for a chunked body that grows over the limit', async () => {
    const answer = await rejected(
      () =>
        new Promise((resolve, reject) => {
          const url = new URL(server.url);
          const req = http.request(
            {
              host: url.hostname,
              port: url.port,
              path: url.pathname,
              method: 'POST',
              headers: { 'content-type': 'application/json' },
            },
            (res) => {
              let text = '';
              res.on('data', (c) => (text += c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
            },
          );
          req.on('error', reject);
          req.write('{"pad":"');
          req.write('y'.repeat(4096));
          req.end('"}');
        }),
    );
    expect(answer.status).toBe(413);
  });

  it('405 for a GET', async () => {
    const answer = await rejected(() =>
      httpRequest(server.url, { method: 'GET', timeoutMs: 5_000 }),
    );
    expect(answer.status).toBe(405);
  });

  it('401 without or with wrong credentials; 200 with both right', async () => {
    const url = new URL(guarded.url);
    const withSecret = `${url.origin}${url.pathname}?secret=token-123`;
    const basic = `Basic ${Buffer.from('platform:s3cret').toString('base64')}`;
    const wrongBasic = `Basic ${Buffer.from('platform:nope').toString('base64')}`;
    expect((await rejected(() => post(withSecret, good), guarded)).status).toBe(401);
    expect(
      (await rejected(() => post(withSecret, good, { authorization: wrongBasic }), guarded)).status,
    ).toBe(401);
    expect(
      (await rejected(() => post(guarded.url, good, { authorization: basic }), guarded)).status,
    ).toBe(401);
    expect(
      (
        await rejected(
          () => post(`${guarded.url}?secret=token-12`, good, { authorization: basic }),
          guarded,
        )
      ).status,
    ).toBe(401);
    // user:pass@ in the URL is how a subscribed callback carries basic auth.
    const ok = await post(
      `http://platform:s3cret@${url.host}${url.pathname}?secret=token-123`,
      good,
    );
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).result).toBe('applied');
  });

  it('checks credentials before anything else: a GET or a wrong type without them is 401', async () => {
    const get = await rejected(
      () => httpRequest(guarded.url, { method: 'GET', timeoutMs: 5_000 }),
      guarded,
    );
    expect(get.status).toBe(401);
    const xml = await rejected(
      () => post(guarded.url, '<push/>', { 'content-type': 'application/xml' }),
      guarded,
    );
    expect(xml.status).toBe(401);
  });

  it('401 for a secret of any other length, empty or longer, with an exact reason', async () => {
    const url = new URL(guarded.url);
    const basic = `Basic ${Buffer.from('platform:s3cret').toString('base64')}`;
    for (const given of ['', 't', 'token-1234', 'token-123'.repeat(100), 'TOKEN-123']) {
      const answer = await rejected(
        () =>
          post(`${url.origin}${url.pathname}?secret=${encodeURIComponent(given)}`, good, {
            authorization: basic,
          }),
        guarded,
      );
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ result: 'rejected', reason: 'bad or missing secret' });
    }
  });

  it('answers a refusal with a body unread and keeps the connection usable', async () => {
    // The refusal goes out before the body is read; node drops the rest, so the next request on
    // the same kept-alive socket is answered too (DELETE and GET bodies included).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const url = new URL(guarded.url);
    const body = 'x'.repeat(900);
    const send = (method: string, path: string) =>
      httpRequest(`${url.origin}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body,
        timeoutMs: 5_000,
        agent,
      });
    try {
      for (const method of ['DELETE', 'GET', 'OPTIONS', 'POST']) {
        expect((await rejected(() => send(method, url.pathname), guarded)).status).toBe(401);
        expect((await rejected(() => send(method, '/elsewhere'), guarded)).status).toBe(404);
      }
    } finally {
      agent.destroy();
    }
  });

  it('refuses to be created with an empty secret or password', () => {
    expect(() => createHuaweiReceiver({ service: ctx.service, secret: '' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() =>
      createHuaweiReceiver({
        service: ctx.service,
        basicAuth: { username: 'platform', password: '' },
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  it('200 and ignored for a notifyType that is not an upgrade notification', async () => {
    const answer = await rejected(() =>
      post(server.url, JSON.stringify({ notifyType: 'deviceDataChanged', deviceId: 'dev-1' })),
    );
    expect(answer.status).toBe(200);
    expect(answer.body?.result).toBe('ignored');
  });

  it('200 and ignored for an upgrade state core does not know (China Unicom otacreated)', async () => {
    const body = JSON.stringify({
      notifyType: 'swUpgradeStateChangeNotify',
      ...ids,
      swUpgradeState: 'otacreated',
    });
    const before = await storedState(ctx.store, 'dev-1');
    const answer = await post(server.url, body);
    expect(JSON.parse(answer.body)).toMatchObject({
      result: 'ignored',
      reason: expect.stringContaining('otacreated'),
    });
    expect(await storedState(ctx.store, 'dev-1')).toBe(before);
  });

  it('a host server routes: another path is not handled', async () => {
    const receiver = createHuaweiReceiver({ service: ctx.service });
    const host = http.createServer((req, res) => {
      void receiver.handle(req, res).then((handled) => {
        if (!handled) res.writeHead(418).end('other route');
      });
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    const { port } = host.address() as AddressInfo;
    try {
      const other = await post(`http://127.0.0.1:${port}/somewhere/else`, good);
      expect(other.status).toBe(418);
      const mine = await post(
        `http://127.0.0.1:${port}${receiver.path}?x=1`,
        JSON.stringify({ notifyType: 'x' }),
      );
      expect(mine.status).toBe(200);
    } finally {
      await new Promise((resolve) => host.close(resolve));
    }
  });

  it('a push cut off mid-body settles handle() and stores nothing', async () => {
    const receiver = createHuaweiReceiver({ service: ctx.service, matchWaitMs: 0 });
    let settled: (handled: boolean) => void = () => {};
    const handled = new Promise<boolean>((resolve) => {
      settled = resolve;
    });
    const host = http.createServer((req, res) => {
      void receiver.handle(req, res).then(settled);
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    const { port } = host.address() as AddressInfo;
    const before = await storedState(ctx.store, 'dev-1');
    try {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        `POST ${receiver.path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${good.length}\r\n\r\n${good.slice(0, 20)}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.destroy();
      expect(await handled).toBe(true);
      expect(await storedState(ctx.store, 'dev-1')).toBe(before);
      expect(receiver.dedupeCount).toBe(0);
    } finally {
      await new Promise((resolve) => host.close(resolve));
    }
  });
});
