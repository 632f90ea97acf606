/**
 * Defects found at the DDI edge (issue 15), each over real HTTP: controller ids that could never
 * be named again, a plug-and-play flood from one client, and attributes past hawkBit's quota.
 */
import { request as httpRequest } from 'node:http';
import { DEFAULT_MAX_HISTORY, MAX_ATTRIBUTES_PER_TARGET } from '@otaflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientKeyOf, DdiExceptionInfo, RegistrationLimiter } from '../src/index.js';
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

const QUOTA = {
  errorCode: 'hawkbit.server.error.quota.tooManyEntries',
  exceptionClass: 'org.eclipse.hawkbit.repository.exception.AssignmentQuotaExceededException',
};

let h: Harness;
let clock = 1_000_000;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

/** A GET with the path sent exactly as written: no URL parser in between to fold `.` or `%2e`. */
function getRaw(path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: h.port, path, headers: gw }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('controller ids that could never be named again', () => {
  it.each([
    ['NUL', 'dev%00x'],
    ['ESC', 'dev%1Bx'],
    ['a lone NUL', '%00'],
    ['DEL', 'dev%7F'],
    ['.', '.'],
    ['..', '..'],
    ['%2e', '%2e'],
    ['%2e%2e', '%2e%2e'],
    ['%2E%2E', '%2E%2E'],
    ['.%2e', '.%2e'],
  ])('refuses %s with 400 in hawkBit form, and registers nothing', async (_name, segment) => {
    const before = await dump(h.service);
    for (const suffix of ['', '/configData', '/deploymentBase/1']) {
      const res = await getRaw(`/DEFAULT/controller/v1/${segment}${suffix}`);
      expect(res.status, `${segment}${suffix}`).toBe(400);
      const body = DdiExceptionInfo.parse(JSON.parse(res.text));
      expect(body).toMatchObject({
        errorCode: 'hawkbit.server.error.repo.constraintViolation',
        exceptionClass: 'jakarta.validation.ConstraintViolationException',
      });
    }
    expect(await dump(h.service)).toBe(before);
  });

  it('still takes ids with dots that are not . or ..', async () => {
    for (const cid of [`${unique('a')}.b`, `...${unique('c')}`, `${unique('d')}..`]) {
      const res = await getRaw(`/DEFAULT/controller/v1/${cid}`);
      expect(res.status, cid).toBe(200);
      expect(await h.service.getTarget(cid)).toBeDefined();
    }
  });
});

describe('plug-and-play registrations per client', () => {
  let f: Harness;
  beforeAll(async () => {
    f = await startHarness({ registrationLimit: { burst: 20, perSecond: 0.5 } });
  });
  afterAll(async () => {
    await f.close();
  });

  it('caps a flood of new ids with 429 and Retry-After, while known devices keep being served', async () => {
    const h = f;
    const known = unique('known');
    expect((await raw(`${h.url}/DEFAULT/controller/v1/${known}`, { headers: gw })).status).toBe(
      200,
    );
    const flood = Array.from({ length: 200 }, (_, i) => unique(`flood${i}`));
    const answers = await Promise.all(
      flood.map((cid) => raw(`${h.url}/DEFAULT/controller/v1/${cid}`, { headers: gw })),
    );
    const created = answers.filter((a) => a.status === 200).length;
    const limited = answers.filter((a) => a.status === 429);
    // The bucket holds 20 (one taken by `known` above); one more per 2 s may trickle in meanwhile.
    expect(created).toBeGreaterThanOrEqual(15);
    expect(created).toBeLessThanOrEqual(25);
    expect(limited.length).toBe(flood.length - created);
    const first = limited[0]!;
    expect(Number(first.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(first.text)).toMatchObject(QUOTA);
    let stored = 0;
    for (const cid of flood) if (await h.service.getTarget(cid)) stored++;
    expect(stored).toBe(created);

    // The bucket is empty, yet the known device polls, reports and reads as before.
    for (let i = 0; i < 30; i++) {
      const res = await raw(`${h.url}/DEFAULT/controller/v1/${known}`, { headers: gw });
      expect(res.status).toBe(200);
    }
    const config = await raw(`${h.url}/DEFAULT/controller/v1/${known}/configData`, {
      method: 'PUT',
      headers: { ...gw, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { board: 'x' } }),
    });
    expect(config.status).toBe(200);
    // A target created through the Management API is known too, though it never polled.
    const precreated = unique('pre');
    await h.service.createTarget({ controllerId: precreated });
    expect(
      (await raw(`${h.url}/DEFAULT/controller/v1/${precreated}`, { headers: gw })).status,
    ).toBe(200);
  });

  it('refills at its rate, per client, an IPv6 client counted by its /64', () => {
    const limiter = new RegistrationLimiter({ burst: 3, perSecond: 1 }, () => clock);
    expect([1, 2, 3].map(() => limiter.take('10.0.0.1'))).toEqual([0, 0, 0]);
    expect(limiter.take('10.0.0.1')).toBe(1000);
    expect(limiter.take('::ffff:10.0.0.1')).toBe(1000);
    expect(limiter.take('10.0.0.2')).toBe(0);
    clock += 1000;
    expect(limiter.take('10.0.0.1')).toBe(0);
    expect(limiter.take('10.0.0.1')).toBe(1000);
    for (let i = 0; i < 3; i++) expect(limiter.take(`2001:db8:1:2::${i + 1}`)).toBe(0);
    expect(limiter.take('2001:db8:1:2:ffff::9')).toBeGreaterThan(0);
    expect(limiter.take('2001:db8:1:3::1')).toBe(0);
    expect(clientKeyOf('2001:0db8:0001:0002:0000:0000:0000:0001')).toBe(
      clientKeyOf('2001:db8:1:2::'),
    );
    expect(clientKeyOf('::1')).toBe('0:0:0:0::/64');
  });

  it('forgets the longest untouched clients past maxClients', () => {
    const limiter = new RegistrationLimiter(
      { burst: 1, perSecond: 0.001, maxClients: 2 },
      () => clock,
    );
    expect(limiter.take('10.0.0.1')).toBe(0);
    expect(limiter.take('10.0.0.2')).toBe(0);
    expect(limiter.take('10.0.0.1')).toBeGreaterThan(0);
    expect(limiter.take('10.0.0.3')).toBe(0);
    // 10.0.0.2 was the longest untouched, so it starts over; 10.0.0.1 is still remembered.
    expect(limiter.take('10.0.0.2')).toBe(0);
    expect(limiter.take('10.0.0.3')).toBeGreaterThan(0);
  });
});

describe('configData: at most 100 attributes per target', () => {
  const put = (cid: string, body: unknown) =>
    raw(`${h.url}/DEFAULT/controller/v1/${cid}/configData`, {
      method: 'PUT',
      headers: { ...gw, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const attrs = (prefix: string, n: number) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, String(i)]));

  it('takes 100, refuses the 101st with 429 in hawkBit form and stores nothing', async () => {
    const cid = unique('attrs');
    await h.service.createTarget({ controllerId: cid });
    expect((await put(cid, { data: attrs('a', 60) })).status).toBe(200);
    expect((await put(cid, { data: attrs('b', 40) })).status).toBe(200);
    expect(Object.keys((await h.service.getTarget(cid))!.attributes)).toHaveLength(
      MAX_ATTRIBUTES_PER_TARGET,
    );
    const before = await dump(h.service);
    for (const body of [
      { data: { one: 'more' } },
      { data: attrs('c', 50), mode: 'merge' },
      { data: attrs('d', 101), mode: 'replace' },
      { data: { a0: 'changed', extra: 'x' } },
    ]) {
      const res = await put(cid, body);
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(429);
      expect(JSON.parse(res.text)).toMatchObject(QUOTA);
    }
    expect(await dump(h.service)).toBe(before);
    // Changing values, removing, or swapping within the limit is fine.
    expect((await put(cid, { data: { a0: 'changed' } })).status).toBe(200);
    expect((await put(cid, { data: { a1: null, fresh: 'y' } })).status).toBe(200);
    const after = (await h.service.getTarget(cid))!.attributes;
    expect(Object.keys(after)).toHaveLength(MAX_ATTRIBUTES_PER_TARGET);
    expect(after).toMatchObject({ a0: 'changed', fresh: 'y' });
    expect(after.a1).toBeUndefined();
    expect((await put(cid, { data: attrs('e', 100), mode: 'replace' })).status).toBe(200);
    expect((await put(cid, { data: { e0: 'x', e1: 'x' }, mode: 'remove' })).status).toBe(200);
    expect(Object.keys((await h.service.getTarget(cid))!.attributes)).toHaveLength(98);
  });

  it('a flood of small requests never stores past the quota', async () => {
    const cid = unique('flood-attrs');
    await h.service.createTarget({ controllerId: cid });
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => put(cid, { data: attrs(`k${i}-`, 5) })),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(20);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(10);
    expect(Object.keys((await h.service.getTarget(cid))!.attributes)).toHaveLength(100);
  });
});

describe('feedback: at most 1000 status entries per action', () => {
  it('an intermediate report past the quota is 429 and stored nowhere; the closing one passes', async () => {
    const cid = unique('entries');
    await h.service.createTarget({ controllerId: cid });
    const rel = await addRelease(h, [{ name: 'fw.bin', bytes: randomBytesOf(100) }], unique('v'));
    const { actions } = await h.service.assign(rel.setId, [{ controllerId: cid }]);
    const id = actions[0]!.id;
    const feedback = (execution: string, finished = 'none') =>
      raw(`${h.url}/DEFAULT/controller/v1/${cid}/deploymentBase/${id}/feedback`, {
        method: 'POST',
        headers: { ...gw, 'content-type': 'application/json' },
        body: JSON.stringify({ status: { execution, result: { finished } } }),
      });
    // Entries the server records itself count towards the quota and are never refused.
    for (let n = (await h.service.getActionHistory(id))!.length; n < DEFAULT_MAX_HISTORY - 1; n++)
      await h.service.apply(id, { type: 'action.retrieved', at: Date.now() });
    expect((await feedback('proceeding')).status).toBe(200);
    expect((await h.service.getActionHistory(id))!.length).toBe(DEFAULT_MAX_HISTORY);
    const before = await dump(h.service);
    for (const execution of ['proceeding', 'download', 'scheduled', 'rejected']) {
      const res = await feedback(execution);
      expect(res.status, execution).toBe(429);
      expect(JSON.parse(res.text)).toMatchObject(QUOTA);
    }
    expect(await dump(h.service)).toBe(before);
    expect((await feedback('closed', 'success')).status).toBe(200);
    expect(await h.service.getAction(id)).toMatchObject({ status: 'FINISHED', active: false });
  });
});
