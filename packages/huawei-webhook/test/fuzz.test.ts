import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHuaweiReceiverServer,
  HUAWEI_SUB_OPERATION_REF,
  type HuaweiReceiverServer,
  subOperationRef,
} from '../src/index.js';
import { setup, storedState } from './helpers.js';

const SECRET = 'fuzz-secret-0123456789';
const ids = { deviceId: 'dev-1', appId: 'app', operationId: 'op-1', subOperationId: 'sub-1' };

let ctx: Awaited<ReturnType<typeof setup>>;
let server: HuaweiReceiverServer;
let agent: http.Agent;

beforeAll(async () => {
  ctx = await setup({ deviceIds: ['dev-1'] });
  const { actions } = await ctx.service.assign(ctx.set.id, [{ controllerId: 'dev-1' }]);
  await ctx.service.setActionRef(
    actions[0]!.id,
    HUAWEI_SUB_OPERATION_REF,
    subOperationRef(ids.deviceId, ids.operationId, ids.subOperationId),
  );
  server = await createHuaweiReceiverServer({
    service: ctx.service,
    secret: SECRET,
    bodyLimit: 4096,
    matchWaitMs: 0,
  });
  agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
});
afterAll(async () => {
  agent?.destroy();
  await server?.close();
});

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function send(request: Sent): Promise<{ status: number; text: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: request.method,
        path: request.path,
        headers: request.headers,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

// ---- what a request is made of: mostly near misses of a real push, sometimes anything

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const method = fc.oneof(
  { weight: 6, arbitrary: fc.constant('POST') },
  fc.constantFrom('POST', 'GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'),
  token.map((t) => t.toUpperCase()),
);
const pathPart = fc.oneof(
  { weight: 6, arbitrary: fc.constant('/v1.0.0/messageReceiver') },
  fc.constantFrom(
    '/',
    '/v1.0.0/messageReceiver/',
    '/V1.0.0/messageReceiver',
    '//v1.0.0/messageReceiver',
  ),
  fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
  fc.string({ maxLength: 40 }).map((s) => `/${encodeURIComponent(s)}`),
);
const secretParam = fc.oneof(
  { weight: 6, arbitrary: fc.constant(`secret=${SECRET}`) },
  fc.constant(`secret=${SECRET}&secret=x`),
  fc.string({ maxLength: 30 }).map((s) => `secret=${encodeURIComponent(s)}`),
  fc.constant(`secret=${SECRET.slice(1)}`),
  fc.constant(`token=${SECRET}`),
  fc.constant(''),
);
const query = fc
  .tuple(secretParam, fc.option(fc.webQueryParameters(), { nil: undefined }))
  .map(([secret, more]) => [secret, more].filter((p) => p).join('&'));
const contentType = fc.option(
  fc.oneof(
    { weight: 4, arbitrary: fc.constant('application/json') },
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/merge-patch+json',
      'text/plain',
      'application/xml',
      'multipart/form-data; boundary=x',
      '',
    ),
    token.map((t) => `application/${t}`),
  ),
  { nil: undefined },
);
const text = fc.string({ maxLength: 30, unit: 'binary' });
const upgradeTime = fc.oneof(fc.constant('20240101T000000Z'), fc.integer(), text);
const notification = fc.record(
  {
    notifyType: fc.oneof(
      fc.constantFrom(
        'swUpgradeStateChangeNotify',
        'swUpgradeResultNotify',
        'fwUpgradeStateChangeNotify',
        'fwUpgradeResultNotify',
        'deviceDataChanged',
      ),
      text,
      fc.integer(),
    ),
    deviceId: fc.oneof(fc.constant(ids.deviceId), text, fc.integer()),
    appId: fc.oneof(fc.constant(ids.appId), text),
    operationId: fc.oneof(fc.constant(ids.operationId), text),
    subOperationId: fc.oneof(fc.constant(ids.subOperationId), text),
    swUpgradeState: fc.oneof(
      fc.constantFrom('downloading', 'downloaded', 'updating', 'idle'),
      text,
    ),
    swUpgradeResult: fc.oneof(fc.constantFrom('SUCCESS', 'FAIL'), text),
    step: fc.oneof(fc.constantFrom('0', '1', '2', '3'), text, fc.integer()),
    upgradeResult: fc.oneof(fc.constantFrom('SUCCESS', 'FAIL'), text),
    upgradeTime,
    errorCode: fc.oneof(fc.integer(), text),
    extra: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: [] },
);
const body = fc.option(
  fc.oneof(
    { weight: 4, arbitrary: notification.map((n) => JSON.stringify(n)) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.nat({ max: 6000 }).map((n) => 'x'.repeat(n)) },
    { weight: 1, arbitrary: fc.nat({ max: 5000 }).map((n) => `${'['.repeat(n)}`) },
  ),
  { nil: undefined },
);
const extraHeaders = fc.dictionary(
  token.filter(
    (t) =>
      ![
        'content-length',
        'transfer-encoding',
        'host',
        'connection',
        'expect',
        'upgrade',
        'content-type',
      ].includes(t.toLowerCase()),
  ),
  fc.stringMatching(/^[\x20-\x7e]{0,40}$/).map((v) => v.trim()),
  { maxKeys: 3 },
);
const request: fc.Arbitrary<Sent> = fc
  .record({ method, path: pathPart, query, contentType, body, extra: extraHeaders })
  .map(({ method, path, query, contentType, body, extra }) => {
    const headers: Record<string, string> = { ...extra };
    if (contentType !== undefined) headers['content-type'] = contentType;
    // node's client sends a GET's or DELETE's body without a length unless told one.
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return { method, path: query ? `${path}?${query}` : path, headers, body };
  });

describe('the receiver under random requests (issue 15: fuzz every surface)', () => {
  it('never answers 5xx, never stalls the event loop, and changes nothing behind a refusal', async () => {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const statuses = new Map<number, number>();
    let worstStallMs = 0;
    try {
      await fc.assert(
        fc.asyncProperty(request, async (sent) => {
          const before = await storedState(ctx.store, 'dev-1');
          delay.reset();
          const cpu = process.cpuUsage();
          const answer = await send(sent);
          // A stall is the loop blocked while this process runs: on a shared machine the loop also
          // waits while the process is not scheduled at all, which CPU time does not count.
          const used = process.cpuUsage(cpu);
          const stallMs = Math.min(delay.max / 1e6, (used.user + used.system) / 1e3);
          worstStallMs = Math.max(worstStallMs, stallMs);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          expect(answer.status).toBeLessThan(500);
          const changed = (await storedState(ctx.store, 'dev-1')) !== before;
          const receiverPath = sent.path.split('?')[0] === '/v1.0.0/messageReceiver';
          const secretRight =
            new URLSearchParams(sent.path.split('?')[1] ?? '').get('secret') === SECRET;
          if (!http.METHODS.includes(sent.method)) {
            // node's parser refuses a method it does not know before any handler runs.
            expect(answer.status).toBe(400);
          } else if (!receiverPath) {
            // Not the receiver's: the host server answers 404 and nothing is touched.
            expect(answer.status).toBe(404);
          } else if (!secretRight) {
            expect(answer.status).toBe(401);
          }
          let result: string | undefined;
          if (sent.method !== 'HEAD' && answer.text) {
            result = (JSON.parse(answer.text) as { result?: string }).result;
          }
          if (answer.status !== 200 || result !== 'applied') expect(changed).toBe(false);
        }),
        { numRuns: 400 },
      );
    } finally {
      delay.disable();
    }
    // Every kind of answer was met, so the run did more than bounce off one check.
    for (const status of [200, 400, 401, 404]) expect(statuses.get(status) ?? 0).toBeGreaterThan(0);
    expect(worstStallMs).toBeLessThan(100);
  });
});
