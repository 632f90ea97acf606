import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeviceAgent, type DeviceAgent } from '@otaflow/iothub-mqtt';
import { createSieConsumer, createSiePublisher, type SieConsumer } from '@otaflow/sie-amqp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDownloadSigner } from '../src/downloadSigner.js';
import type { Backend } from '../src/server.js';
import { AUTH, call, seed, startTestBackend } from './helpers.js';

const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const SECRET = 'a-download-secret-for-tests';
const BYTES = Buffer.from('firmware image bytes 0123456789');

async function upload(backend: Backend, moduleId: number, filename: string): Promise<void> {
  const form = new FormData();
  form.append('file', new Blob([BYTES]), filename);
  const res = await fetch(`${backend.url}/rest/v1/softwaremodules/${moduleId}/artifacts`, {
    method: 'POST',
    headers: { Authorization: AUTH },
    body: form,
  });
  expect(res.status).toBe(201);
}

/** Polls until `check` holds; only for waiting on something that must happen. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('signed links', () => {
  it('verify the module, file and expiry they were made for, in constant time', () => {
    let now = 1_700_000_000_000;
    const signer = createDownloadSigner({ secret: SECRET, ttlSeconds: 60, now: () => now });
    const query = signer.sign(7, 'fw.bin');
    const expires = query.get('expires');
    const signature = query.get('signature') ?? '';
    expect(expires).toBe(String(1_700_000_000 + 60));
    expect(signer.verify(7, 'fw.bin', expires, signature)).toBe('valid');
    expect(signer.verify(8, 'fw.bin', expires, signature)).toBe('invalid');
    expect(signer.verify(7, 'fw.bin2', expires, signature)).toBe('invalid');
    expect(signer.verify(7, 'fw.bin', String(Number(expires) + 1), signature)).toBe('invalid');
    expect(signer.verify(7, 'fw.bin', expires, `${signature}A`)).toBe('invalid');
    expect(signer.verify(7, 'fw.bin', expires, null)).toBe('invalid');
    expect(signer.verify(7, 'fw.bin', '1e9', signature)).toBe('invalid');
    const other = createDownloadSigner({ secret: `${SECRET}!`, ttlSeconds: 60, now: () => now });
    expect(other.verify(7, 'fw.bin', expires, signature)).toBe('invalid');
    now += 60_000;
    expect(signer.verify(7, 'fw.bin', expires, signature)).toBe('expired');
  });

  it('are random per start without a secret: another start does not accept them', () => {
    const a = createDownloadSigner({ ttlSeconds: 60 }).sign(1, 'x');
    const b = createDownloadSigner({ ttlSeconds: 60 });
    expect(b.verify(1, 'x', a.get('expires'), a.get('signature'))).toBe('invalid');
  });
});

describe('/artifacts/ with target-token and gateway auth', () => {
  const id = `dl-${randomUUID().slice(0, 8)}`;
  const tenant = id;
  let backend: Backend;
  let moduleId: number;
  let setId: number;
  let href: string;
  const agents: DeviceAgent[] = [];
  let consumer: SieConsumer | undefined;
  let downloadDir: string;
  const assignments: { softwareModules: { artifacts: { urls: object }[] }[] }[] = [];

  beforeAll(async () => {
    downloadDir = await mkdtemp(join(tmpdir(), 'otaflow-downloads-'));
    const exchange = `${id}.exchange`;
    const testQueue = `${id}.test`;
    // A queue of the test's own on the backend's exchange; it expires when unused.
    const declarer = createSiePublisher({
      url: AMQP_URL,
      tenant,
      exchange,
      queue: testQueue,
      queueArguments: { 'x-expires': 60_000, 'x-max-length': 1000 },
    });
    await declarer.start({ timeoutMs: 5000 });
    await declarer.close();
    consumer = createSieConsumer({
      url: AMQP_URL,
      queue: testQueue,
      handlers: {
        UPDATE_ASSIGNMENT: (body) => {
          assignments.push(body as (typeof assignments)[number]);
        },
      },
    });
    await consumer.start();
    backend = await startTestBackend({
      tenant,
      targetTokenAuth: true,
      gatewayToken: 'the-gateway-key',
      downloadSecret: SECRET,
      mqttUrl: MQTT_URL,
      amqpUrl: AMQP_URL,
      sieExchange: exchange,
      sieQueue: `${id}.backend`,
    });
    ({ moduleId, setId } = await seed(backend, ['dl-ddi', 'dl-other'], `${id}-fw`));
    await upload(backend, moduleId, 'fw image.bin');
    href = `${backend.url}/artifacts/${moduleId}/fw%20image.bin`;
  });
  afterAll(async () => {
    await Promise.allSettled(agents.map((agent) => agent.stop({ force: true })));
    await consumer?.close();
    await backend?.close();
    await rm(downloadDir, { recursive: true, force: true });
  });

  it('refuses GET and HEAD without credentials: 401, a Basic challenge, Spring Boot body', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(href, { method });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="hawkBit"');
      if (method === 'GET')
        expect(await res.json()).toMatchObject({
          status: 401,
          error: 'Unauthorized',
          path: `/artifacts/${moduleId}/fw%20image.bin`,
        });
    }
    // Refused before the lookup: an unknown file is not told apart from a known one.
    expect((await fetch(`${backend.url}/artifacts/${moduleId}/none.bin`)).status).toBe(401);
  });

  it('serves the Management API user, and refuses a wrong password', async () => {
    const res = await fetch(href, { headers: { Authorization: AUTH } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(BYTES);
    const wrong = `Basic ${Buffer.from('admin:nope').toString('base64')}`;
    expect((await fetch(href, { headers: { Authorization: wrong } })).status).toBe(401);
    const missing = await fetch(`${backend.url}/artifacts/${moduleId}/none.bin`, {
      headers: { Authorization: AUTH },
    });
    expect(missing.status).toBe(404);
  });

  it('serves a device by its target token, for modules assigned to it only', async () => {
    const assigned = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
      [{ id: 'dl-ddi' }],
    );
    expect(assigned.status).toBe(200);
    const token = (await call(backend, 'GET', '/rest/v1/targets/dl-ddi')).json.securityToken;
    const other = (await call(backend, 'GET', '/rest/v1/targets/dl-other')).json.securityToken;
    expect(token).toEqual(expect.any(String));
    const as = (controllerId: string, value: string) =>
      fetch(`${href}?controllerId=${controllerId}`, {
        headers: { Authorization: `TargetToken ${value}`, Range: 'bytes=0-7' },
      });
    const ok = await as('dl-ddi', token);
    expect(ok.status).toBe(206);
    expect(await ok.text()).toBe(BYTES.subarray(0, 8).toString());
    expect((await as('dl-ddi', `${token}x`)).status).toBe(401);
    expect((await as('dl-ddi', other)).status).toBe(401);
    expect((await as('nobody', token)).status).toBe(401);
    // A real device, but the module is not one of its actions: forbidden.
    const notAssigned = await as('dl-other', other);
    expect(notAssigned.status).toBe(403);
    expect(await notAssigned.json()).toMatchObject({ status: 403, error: 'Forbidden' });
    // The token alone does not say which device it belongs to.
    const noId = await fetch(href, { headers: { Authorization: `TargetToken ${token}` } });
    expect(noId.status).toBe(401);
  });

  it('serves the gateway token as DDI accepts it', async () => {
    const ok = await fetch(href, { headers: { Authorization: 'GatewayToken the-gateway-key' } });
    expect(ok.status).toBe(200);
    const head = await fetch(href, {
      method: 'HEAD',
      headers: { Authorization: 'GatewayToken the-gateway-keY' },
    });
    expect(head.status).toBe(401);
  });

  it('refuses expired, foreign and altered signed links with 403', async () => {
    const path = `/artifacts/${moduleId}/fw%20image.bin`;
    const past = createDownloadSigner({ secret: SECRET, ttlSeconds: 60, now: () => 0 });
    const expired = await fetch(`${backend.url}${path}?${past.sign(moduleId, 'fw image.bin')}`);
    expect(expired.status).toBe(403);
    expect(await expired.json()).toMatchObject({ status: 403, error: 'Forbidden', path });
    const foreign = createDownloadSigner({ secret: `${SECRET}-other`, ttlSeconds: 60 });
    const wrongKey = `${backend.url}${path}?${foreign.sign(moduleId, 'fw image.bin')}`;
    expect((await fetch(wrongKey, { method: 'HEAD' })).status).toBe(403);
    const good = createDownloadSigner({ secret: SECRET, ttlSeconds: 60 });
    const query = good.sign(moduleId, 'fw image.bin');
    expect((await fetch(`${backend.url}${path}?${query}`)).status).toBe(200);
    // The same signature for another file of the module, or without its expiry, is refused.
    expect((await fetch(`${backend.url}/artifacts/${moduleId}/other.bin?${query}`)).status).toBe(
      403,
    );
    const bare = `${backend.url}${path}?signature=${query.get('signature')}`;
    expect((await fetch(bare)).status).toBe(403);
  });

  it('hands MQTT devices signed links in install commands, which they download with', async () => {
    const fetched: { url: string; status: number }[] = [];
    const agent = createDeviceAgent({
      url: MQTT_URL,
      tenant,
      deviceId: 'dl-mqtt',
      softwareModuleType: 'os',
      downloadDir,
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        fetched.push({ url: String(input), status: res.status });
        return res;
      },
      installer: { install: async () => ({ status: 'FINISHED_SUCCESS' }) },
    });
    agents.push(agent);
    await agent.start();
    await until('the MQTT device to register', () => backend.service.getTarget('dl-mqtt'));
    const assigned = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
      [{ id: 'dl-mqtt' }],
    );
    expect(assigned.status).toBe(200);
    const finished = await until('the MQTT install to finish', async () => {
      const [action] = await backend.service.listActions('dl-mqtt');
      return action && !action.active ? action : undefined;
    });
    expect(finished.status).toBe('FINISHED');
    expect(fetched.length).toBeGreaterThan(0);
    for (const { url, status } of fetched) {
      expect(status).toBe(200);
      expect(url).toMatch(/\?expires=\d+&signature=[A-Za-z0-9_-]{43}$/);
    }
    // The same link without its signature is refused: the signature is what let it in.
    const plain = fetched[0]?.url.replace(/\?.*$/, '') ?? '';
    expect((await fetch(plain)).status).toBe(401);
  });

  it('puts signed links in SIE UPDATE_ASSIGNMENT urls', async () => {
    const message = await until('an UPDATE_ASSIGNMENT', async () => assignments[0]);
    const urls = message.softwareModules[0]?.artifacts[0]?.urls as { HTTP?: string } | undefined;
    const link = urls?.HTTP ?? '';
    expect(link).toMatch(/\?expires=\d+&signature=/);
    const res = await fetch(link);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(BYTES);
  });
});

describe('/artifacts/ when DDI is anonymous (the demo)', () => {
  let backend: Backend;
  let moduleId: number;
  beforeAll(async () => {
    backend = await startTestBackend({ downloadSecret: SECRET });
    ({ moduleId } = await seed(backend, [], 'anon-fw'));
    await upload(backend, moduleId, 'fw.bin');
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('serves unsigned downloads, as DDI would, and still checks what is given', async () => {
    const href = `${backend.url}/artifacts/${moduleId}/fw.bin`;
    expect((await fetch(href)).status).toBe(200);
    const good = createDownloadSigner({ secret: SECRET, ttlSeconds: 60 }).sign(moduleId, 'fw.bin');
    expect((await fetch(`${href}?${good}`)).status).toBe(200);
    const past = createDownloadSigner({ secret: SECRET, ttlSeconds: 60, now: () => 0 });
    expect((await fetch(`${href}?${past.sign(moduleId, 'fw.bin')}`)).status).toBe(403);
    const wrong = `Basic ${Buffer.from('admin:nope').toString('base64')}`;
    expect((await fetch(href, { headers: { Authorization: wrong } })).status).toBe(401);
  });
});
