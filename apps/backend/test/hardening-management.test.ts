import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  MAX_ATTRIBUTES_PER_TARGET,
  MemoryUpdateStore,
  OtaflowError,
  UpdateService,
} from '@otaflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedNameOf } from '../src/ArtifactStore.js';
import { AuthThrottle } from '../src/management/AuthThrottle.js';
import { problemOf } from '../src/management/Problem.js';
import type { Backend } from '../src/server.js';
import { AUTH, call, startTestBackend } from './helpers.js';

const QUOTA = 'hawkbit.server.error.quota.tooManyEntries';
const CONSTRAINT = 'hawkbit.server.error.repo.constraintViolation';

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected field by field
  json: any;
}

/**
 * One request with its path exactly as given (fetch would resolve `.` and `..` first), from a
 * chosen loopback address, so that several clients can be told apart.
 */
function raw(
  backend: Backend,
  method: string,
  path: string,
  options: { auth?: string; from?: string; body?: unknown } = {},
): Promise<RawAnswer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: backend.port,
        method,
        path,
        localAddress: options.from ?? '127.0.0.1',
        agent: false,
        headers: {
          Authorization: options.auth ?? AUTH,
          Accept: 'application/json',
          ...(body === undefined
            ? {}
            : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function createModule(backend: Backend, name: string): Promise<number> {
  const res = await call(backend, 'POST', '/rest/v1/softwaremodules', [
    { name, version: '1.0.0', type: 'os' },
  ]);
  expect(res.status).toBe(201);
  return res.json[0].id as number;
}

async function upload(
  backend: Backend,
  moduleId: number,
  content: string,
  filename: string,
  query = '',
) {
  const form = new FormData();
  form.append('file', new Blob([content]), filename);
  // fetch sets the multipart content type with its boundary itself.
  const res = await fetch(`${backend.url}/rest/v1/softwaremodules/${moduleId}/artifacts${query}`, {
    method: 'POST',
    headers: { Authorization: AUTH, Accept: 'application/json' },
    body: form,
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected field by field
  const json: any = text ? JSON.parse(text) : undefined;
  return { status: res.status, json };
}

/** Every file under the data directory, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('Management API paths, ids and queries', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await startTestBackend();
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('answers 400 for a malformed percent-encoding anywhere in the path', async () => {
    for (const path of [
      '/rest/v1/targets/%ZZ',
      '/rest/v1/targets/%',
      '/rest/v1/targets/ok%E0%A4/attributes',
      '/rest/v1/softwaremodules/%ZZ/artifacts',
      '/rest/v1/tar%ZZgets',
    ]) {
      const res = await raw(backend, 'GET', path);
      expect(res.status, path).toBe(400);
      expect(res.json, path).toMatchObject({ status: 400, error: 'Bad Request' });
    }
  });

  it('never resolves . or .. in a path: /targets/. names a target, not the list', async () => {
    for (const path of [
      '/rest/v1/targets/.',
      '/rest/v1/targets/..',
      '/rest/v1/targets/%2E',
      '/rest/v1/targets/%2e%2E',
    ]) {
      const res = await raw(backend, 'GET', path);
      expect(res.status, path).toBe(404);
      expect(res.json.errorCode, path).toBe('hawkbit.server.error.repo.entityNotFound');
    }
    // `/rest/v1/targets/x/..` would be the list after dot-segment removal: here it is a 404.
    expect((await raw(backend, 'GET', '/rest/v1/targets/x/..')).status).toBe(404);
  });

  it('refuses controller ids with control characters, . and .., and stores none of them', async () => {
    const before = (await call(backend, 'GET', '/rest/v1/targets')).json.total as number;
    for (const controllerId of ['a\u0000b', 'esc\u001b[31m', 'del\u007f', 'c1\u0085', '.', '..']) {
      const res = await call(backend, 'POST', '/rest/v1/targets', [{ controllerId }]);
      expect(res.status, JSON.stringify(controllerId)).toBe(400);
      expect(res.json.errorCode).toBe(CONSTRAINT);
    }
    // One bad id in a list refuses the whole list.
    const mixed = await call(backend, 'POST', '/rest/v1/targets', [
      { controllerId: 'fine-1' },
      { controllerId: '..' },
    ]);
    expect(mixed.status).toBe(400);
    expect((await call(backend, 'GET', '/rest/v1/targets')).json.total).toBe(before);
    // Ids with dots inside stay valid and addressable.
    expect(
      (await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'a.b..c' }])).status,
    ).toBe(201);
    expect((await raw(backend, 'GET', '/rest/v1/targets/a.b..c')).json.controllerId).toBe('a.b..c');
  });

  it('answers 5,000 nested parentheses in q with 400 rsqlParamSyntax', async () => {
    const q = `${'('.repeat(5000)}controllerId==a${')'.repeat(5000)}`;
    const res = await call(backend, 'GET', `/rest/v1/targets?q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(400);
    expect(res.json.errorCode).toBe('hawkbit.server.error.rest.param.rsqlParamSyntax');
  });

  it('matches many wildcards against a 256-character id in linear time', async () => {
    const id = 'a'.repeat(256);
    expect((await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: id }])).status).toBe(
      201,
    );
    for (const pattern of ['*a*a*a*a*b', '*a*a*a*a*a*b', `${'*a'.repeat(40)}*b`]) {
      const started = performance.now();
      const res = await call(
        backend,
        'GET',
        `/rest/v1/targets?q=${encodeURIComponent(`controllerId==${pattern}`)}`,
      );
      const took = performance.now() - started;
      expect(res.status).toBe(200);
      expect(res.json.total).toBe(0);
      // The backtracking matcher took 16-60 s for the first pattern.
      expect(took, pattern).toBeLessThan(500);
    }
    const hit = await call(backend, 'GET', `/rest/v1/targets?q=controllerId==*a*a*a*a*a`);
    expect(hit.json.content.map((t: { controllerId: string }) => t.controllerId)).toContain(id);
  });
});

describe('artifact names, orphans and concurrent uploads', () => {
  let backend: Backend;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'otaflow-hardening-'));
    backend = await startTestBackend({ dataDir });
  });
  afterAll(async () => {
    await backend?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stores names up to hawkBit 256 characters, refuses longer ones with 400, leaves nothing behind', async () => {
    const moduleId = await createModule(backend, 'long-names');
    const longest = 'n'.repeat(252) + '.bin';
    const accented = `${'é'.repeat(120)}.bin`;
    for (const name of [longest, accented]) {
      const res = await upload(backend, moduleId, `bytes of ${name.length}`, name);
      expect(res.status, name).toBe(201);
      expect(res.json.providedFilename).toBe(name);
      const got = await fetch(`${backend.url}${new URL(res.json._links.download.href).pathname}`, {
        headers: { Authorization: AUTH },
      });
      expect(got.status).toBe(200);
      expect(await got.text()).toBe(`bytes of ${name.length}`);
    }
    const stored = await filesUnder(join(dataDir, 'artifacts'));

    const tooLong = 'x'.repeat(257);
    const byPart = await upload(backend, moduleId, 'too long', tooLong);
    expect(byPart.status).toBe(400);
    expect(byPart.json.errorCode).toBe(CONSTRAINT);
    const byQuery = await upload(
      backend,
      moduleId,
      'too long',
      'short.bin',
      `?filename=${'y'.repeat(300)}`,
    );
    expect(byQuery.status).toBe(400);
    // A checksum refusal after staging leaves nothing either.
    const mismatch = await upload(backend, moduleId, 'x', 'x.bin', `?sha1sum=${'0'.repeat(40)}`);
    expect(mismatch.status).toBe(400);

    expect(await filesUnder(join(dataDir, 'artifacts'))).toEqual(stored);
    // Two artifacts: two files (their metadata is in the store, no sidecars), no temporary file.
    expect(stored.filter((f) => f.startsWith('tmp'))).toEqual([]);
    expect(stored).toHaveLength(2);
    expect(stored).toContain(join('modules', String(moduleId), storedNameOf(longest)));
    const list = await call(backend, 'GET', `/rest/v1/softwaremodules/${moduleId}/artifacts`);
    expect(list.json.map((a: { providedFilename: string }) => a.providedFilename).sort()).toEqual(
      [longest, accented].sort(),
    );
  });

  it('keeps all three of three concurrent uploads to one module', async () => {
    const moduleId = await createModule(backend, 'concurrent');
    const answers = await Promise.all(
      ['one', 'two', 'three'].map((n) => upload(backend, moduleId, `content ${n}`, `${n}.bin`)),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    const list = await call(backend, 'GET', `/rest/v1/softwaremodules/${moduleId}/artifacts`);
    expect(list.json.map((a: { providedFilename: string }) => a.providedFilename).sort()).toEqual([
      'one.bin',
      'three.bin',
      'two.bin',
    ]);
  });

  it('keeps exactly one of three concurrent uploads of one name, with its own bytes', async () => {
    const moduleId = await createModule(backend, 'same-name');
    const contents = ['first body', 'second body', 'third body'];
    const answers = await Promise.all(contents.map((c) => upload(backend, moduleId, c, 'fw.bin')));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409]);
    const winner = answers.find((a) => a.status === 201);
    const got = await fetch(
      `${backend.url}${new URL(winner?.json._links.download.href).pathname}`,
      {
        headers: { Authorization: AUTH },
      },
    );
    const bytes = await got.text();
    expect(createHash('sha1').update(bytes).digest('hex')).toBe(winner?.json.hashes.sha1);
    const files = (await filesUnder(join(dataDir, 'artifacts'))).filter((f) =>
      f.startsWith(join('modules', String(moduleId))),
    );
    // One file: the winner's bytes (no sidecar; its metadata is in the store).
    expect(files).toEqual([join('modules', String(moduleId), 'f-fw.bin')]);
  });
});

describe('throttled Basic auth', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await startTestBackend({ mgmtAuthFailures: 5, mgmtAuthWindow: 60 });
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('makes an address that guesses wait with 429 and Retry-After; other clients log in', async () => {
    const wrong = basic('admin', 'guess');
    for (let i = 0; i < 5; i++) {
      expect(
        (await raw(backend, 'GET', '/rest/v1/userinfo', { auth: wrong, from: '127.0.0.2' })).status,
      ).toBe(401);
    }
    const throttled = await raw(backend, 'GET', '/rest/v1/userinfo', {
      auth: wrong,
      from: '127.0.0.2',
    });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(throttled.json).toMatchObject({ status: 429, error: 'Too Many Requests' });
    // Even the right password waits: the answer must not tell a guess from the password.
    expect((await raw(backend, 'GET', '/rest/v1/userinfo', { from: '127.0.0.2' })).status).toBe(
      429,
    );

    // Another client is neither slowed nor refused.
    const started = performance.now();
    const ok = await raw(backend, 'GET', '/rest/v1/userinfo', { from: '127.0.0.1' });
    expect(ok.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('makes a user name guessed from many addresses wait only where guesses came from', async () => {
    // The previous test spent admin's allowance too; a fresh address gets one answer...
    const wrong = basic('admin', 'guess-again');
    expect(
      (await raw(backend, 'GET', '/rest/v1/userinfo', { auth: wrong, from: '127.0.0.3' })).status,
    ).toBe(401);
    // ...and then waits, as it failed recently while admin's allowance is gone.
    expect(
      (await raw(backend, 'GET', '/rest/v1/userinfo', { auth: wrong, from: '127.0.0.3' })).status,
    ).toBe(429);
    // A client that never failed logs in as admin.
    expect((await raw(backend, 'GET', '/rest/v1/userinfo', { from: '127.0.0.4' })).status).toBe(
      200,
    );
  });

  it('stops a burst of 300 wrong passwords after the allowance', async () => {
    const wrong = basic('admin', 'burst');
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++) {
      statuses.push(
        (await raw(backend, 'GET', '/rest/v1/targets', { auth: wrong, from: '127.0.0.5' })).status,
      );
    }
    // A clean address gets one answer while admin's allowance is spent, then waits.
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(295);
  });

  it('lets the allowance grow back over the window (token bucket, injected clock)', () => {
    let now = 0;
    const throttle = new AuthThrottle({ maxFailures: 3, windowMs: 3000, clock: () => now });
    for (let i = 0; i < 3; i++) {
      expect(throttle.waitSeconds('a', 'u')).toBeUndefined();
      throttle.failed('a', 'u');
    }
    expect(throttle.waitSeconds('a', 'u')).toBe(1);
    expect(throttle.waitSeconds('b', 'u')).toBeUndefined();
    now = 999;
    expect(throttle.waitSeconds('a', undefined)).toBe(1);
    now = 1000;
    expect(throttle.waitSeconds('a', undefined)).toBeUndefined();
    const off = new AuthThrottle({ maxFailures: 0, windowMs: 1000 });
    off.failed('a', 'u');
    expect(off.waitSeconds('a', 'u')).toBeUndefined();
  });
});

describe("hawkBit's quotas", () => {
  let backend: Backend;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'otaflow-quota-'));
    backend = await startTestBackend({ dataDir });
  });
  afterAll(async () => {
    await backend?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a 51st artifact in a module with 429 and writes nothing', async () => {
    const moduleId = await createModule(backend, 'full');
    for (let i = 0; i < 50; i++) {
      expect((await upload(backend, moduleId, `artifact ${i}`, `a${i}.bin`)).status).toBe(201);
    }
    const before = await filesUnder(join(dataDir, 'artifacts'));
    const res = await upload(backend, moduleId, 'one too many', 'a50.bin');
    expect(res.status).toBe(429);
    expect(res.json.errorCode).toBe(QUOTA);
    expect(res.json.exceptionClass).toBe(
      'org.eclipse.hawkbit.repository.exception.AssignmentQuotaExceededException',
    );
    expect(await filesUnder(join(dataDir, 'artifacts'))).toEqual(before);
    const list = await call(backend, 'GET', `/rest/v1/softwaremodules/${moduleId}/artifacts`);
    expect(list.json).toHaveLength(50);
  });

  it('refuses a distribution set of more than 100 modules with 429', async () => {
    const modules = await call(
      backend,
      'POST',
      '/rest/v1/softwaremodules',
      Array.from({ length: 101 }, (_, i) => ({ name: `m${i}`, version: '1', type: 'application' })),
    );
    expect(modules.status).toBe(201);
    const ids = modules.json.map((m: { id: number }) => ({ id: m.id }));
    const before = (await call(backend, 'GET', '/rest/v1/distributionsets')).json.total;
    const res = await call(backend, 'POST', '/rest/v1/distributionsets', [
      { name: 'big', version: '1', type: 'app', modules: ids },
    ]);
    expect(res.status).toBe(429);
    expect(res.json.errorCode).toBe(QUOTA);
    expect((await call(backend, 'GET', '/rest/v1/distributionsets')).json.total).toBe(before);
    const fits = await call(backend, 'POST', '/rest/v1/distributionsets', [
      { name: 'fits', version: '1', type: 'app', modules: ids.slice(0, 100) },
    ]);
    expect(fits.status).toBe(201);
  });

  it('refuses an assignment of more than 5,000 targets with 429 and creates no action', async () => {
    const moduleId = await createModule(backend, 'assign');
    const set = await call(backend, 'POST', '/rest/v1/distributionsets', [
      { name: 'assign', version: '1', type: 'os', modules: [{ id: moduleId }] },
    ]);
    const setId = set.json[0].id as number;
    await call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'quota-dev' }]);
    const body = [
      { id: 'quota-dev' },
      ...Array.from({ length: 5000 }, (_, i) => ({ id: `absent-${i}` })),
    ];
    const res = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
      body,
    );
    expect(res.status).toBe(429);
    expect(res.json.errorCode).toBe(QUOTA);
    expect(res.json.exceptionClass).toBe(
      'org.eclipse.hawkbit.repository.exception.AssignmentQuotaExceededException',
    );
    const actions = await call(backend, 'GET', '/rest/v1/targets/quota-dev/actions');
    expect(actions.json.total).toBe(0);
  });

  it('keeps at most 100 attributes per target (core rule) and answers its refusal with 429', async () => {
    const service = new UpdateService({ store: new MemoryUpdateStore() });
    await service.createTarget({ controllerId: 'attrs' });
    const many = (n: number, prefix = 'k') =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, 'v']));
    await service.updateAttributes('attrs', many(MAX_ATTRIBUTES_PER_TARGET));
    const refused = await service.updateAttributes('attrs', { one: 'more' }).catch((e) => e);
    expect(refused).toBeInstanceOf(OtaflowError);
    expect((refused as OtaflowError).code).toBe('QUOTA_EXCEEDED');
    expect(Object.keys((await service.getTarget('attrs'))?.attributes ?? {})).toHaveLength(100);
    // Changing values within the quota still works.
    await service.updateAttributes('attrs', { k0: 'changed' });
    expect((await service.getTarget('attrs'))?.attributes.k0).toBe('changed');
    const problem = problemOf(refused);
    expect(problem?.status).toBe(429);
    expect(problem?.body?.errorCode).toBe(QUOTA);
  });
});

describe('uploads refused part-way', () => {
  let backend: Backend;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'otaflow-refused-'));
    backend = await startTestBackend({ dataDir, maxArtifactBytes: 1024 });
  });
  afterAll(async () => {
    await backend?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const post = (moduleId: number, body: Buffer) =>
    fetch(`${backend.url}/rest/v1/softwaremodules/${moduleId}/artifacts`, {
      method: 'POST',
      headers: {
        Authorization: AUTH,
        Accept: 'application/json',
        'Content-Type': 'multipart/form-data; boundary=b',
      },
      body,
    });
  const filePart = (filename: string, bytes: number) =>
    `--b\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n\r\n${'x'.repeat(bytes)}\r\n`;

  // The upload fuzz's counterexample (seed 15015): the second `file` part, past the limit,
  // left the request unanswered.
  it('answers 429 to a second file part past the limit, and keeps nothing', {
    timeout: 10_000,
  }, async () => {
    const moduleId = await createModule(backend, 'second-part');
    const before = await filesUnder(join(dataDir, 'artifacts'));
    const res = await post(
      moduleId,
      Buffer.from(`${filePart('a.bin', 1)}${filePart('.', 2048)}${filePart('q', 0)}--b--\r\n`),
    );
    expect(res.status).toBe(429);
    expect(((await res.json()) as { errorCode: string }).errorCode).toBe(
      'hawkbit.server.error.quota.fileSizeExceeded',
    );
    // The staged first part is gone before the refusal is answered, not some time after.
    expect(await filesUnder(join(dataDir, 'artifacts'))).toEqual(before);
    const list = await call(backend, 'GET', `/rest/v1/softwaremodules/${moduleId}/artifacts`);
    expect(list.json).toEqual([]);
  });

  it('removes the part file of a form cut short inside its file before answering 400', async () => {
    const moduleId = await createModule(backend, 'cut-short');
    const before = await filesUnder(join(dataDir, 'artifacts'));
    const res = await post(moduleId, Buffer.from(filePart('cut.bin', 1000).slice(0, 600)));
    expect(res.status).toBe(400);
    expect(await filesUnder(join(dataDir, 'artifacts'))).toEqual(before);
  });
});
