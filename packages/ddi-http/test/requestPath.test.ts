/**
 * The request path's fast cases and their fallbacks: bodies in several chunks or cut off, the
 * Accept shortcuts, percent-encoded controller ids, the router's edges, the one-shot ETag and a
 * gateway key changed while the server runs.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DdiControllerBase } from '../src/index.js';
import {
  addRelease,
  dump,
  GATEWAY,
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

const path = (cid: string) => `/DEFAULT/controller/v1/${cid}`;

async function assigned() {
  const cid = unique('path');
  await h.service.createTarget({ controllerId: cid });
  const rel = await addRelease(h, [{ name: 'fw.bin', bytes: randomBytesOf(100) }]);
  const { actions } = await h.service.assign(rel.setId, [{ controllerId: cid }]);
  return { cid, actionId: actions[0]!.id };
}

/** Sends `parts` as a chunked body, one write per part with a pause between them. */
function postInParts(
  target: string,
  parts: string[],
): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${h.url}${target}`,
      { method: 'POST', headers: { ...gw, 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    let i = 0;
    const next = () => {
      if (i === parts.length) {
        req.end();
        return;
      }
      req.write(parts[i++]!);
      setTimeout(next, 10);
    };
    next();
  });
}

describe('request bodies', () => {
  it('takes a feedback body that arrives in several chunks', async () => {
    const { cid, actionId } = await assigned();
    const text = JSON.stringify({
      status: { execution: 'closed', result: { finished: 'success' } },
    });
    const parts = [text.slice(0, 5), text.slice(5, 20), text.slice(20)];
    const res = await postInParts(`${path(cid)}/deploymentBase/${actionId}/feedback`, parts);
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect((await h.service.getAction(actionId))?.status).toBe('FINISHED');
  });

  it('answers 413 to a chunked body that outgrows the limit, and changes nothing', async () => {
    const { cid, actionId } = await assigned();
    const before = await dump(h.service);
    const head = '{"status":{"execution":"proceeding","result":{"finished":"none"},"details":["';
    const parts = [head, 'x'.repeat(10_000), 'x'.repeat(10_000), '"]}}'];
    const res = await postInParts(`${path(cid)}/deploymentBase/${actionId}/feedback`, parts).catch(
      // The server stops reading and may close before the last part is written.
      () => ({ status: 413, text: '', headers: {} }),
    );
    expect(res.status).toBe(413);
    expect(await dump(h.service)).toBe(before);
  });

  it('survives a connection cut in the middle of a body, and changes nothing', async () => {
    const { cid, actionId } = await assigned();
    const before = await dump(h.service);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(h.port, '127.0.0.1', () => {
        socket.write(
          `POST ${path(cid)}/deploymentBase/${actionId}/feedback HTTP/1.1\r\n` +
            `Host: 127.0.0.1\r\nAuthorization: GatewayToken ${GATEWAY}\r\n` +
            'Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{"status":',
        );
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 30);
      });
      socket.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(await dump(h.service)).toBe(before);
    const after = await raw(`${h.url}${path(cid)}/deploymentBase/${actionId}/feedback`, {
      method: 'POST',
      headers: { ...gw, 'content-type': 'application/json' },
      body: JSON.stringify({ status: { execution: 'proceeding', result: { finished: 'none' } } }),
    });
    expect(after.status).toBe(200);
  });
});

describe('answers and routing', () => {
  it('negotiates the usual Accept values and the general forms alike', async () => {
    const cid = unique('accept');
    const typeOf = async (accept: string) => {
      const res = await raw(`${h.url}${path(cid)}`, { headers: { ...gw, accept } });
      return res.status === 200 ? String(res.headers['content-type']) : res.status;
    };
    expect(await typeOf('application/hal+json')).toBe('application/hal+json;charset=UTF-8');
    expect(await typeOf('*/*')).toBe('application/hal+json;charset=UTF-8');
    expect(await typeOf('application/json')).toBe('application/json;charset=UTF-8');
    expect(await typeOf('application/json;q=0.5, application/hal+json')).toBe(
      'application/hal+json;charset=UTF-8',
    );
    expect(await typeOf('text/html, application/json;q=0.1')).toBe(
      'application/json;charset=UTF-8',
    );
    expect(await typeOf('text/html')).toBe(406);
  });

  it('sends the md5 ETag of the body with Content-Length, and 304 for it', async () => {
    const cid = unique('etag');
    const res = await raw(`${h.url}${path(cid)}`, { headers: gw });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(res.body.length));
    const md5 = createHash('md5').update(res.body).digest('hex');
    expect(res.headers.etag).toBe(`"0${md5}"`);
    const again = await raw(`${h.url}${path(cid)}`, {
      headers: { ...gw, 'if-none-match': `"0${md5}"` },
    });
    expect(again.status).toBe(304);
    expect(again.headers.etag).toBe(`"0${md5}"`);
    expect(again.text).toBe('');
  });

  it('decodes a percent-encoded controller id and refuses a malformed one', async () => {
    const cid = unique('pct');
    const encoded = cid.replace(/-/g, '%2D');
    const res = await raw(`${h.url}${path(encoded)}`, { headers: gw });
    expect(res.status).toBe(200);
    expect(DdiControllerBase.parse(JSON.parse(res.text))._links?.configData?.href).toBe(
      `${h.url}${path(cid)}/configData`,
    );
    expect(await h.service.getTarget(cid)).toBeDefined();
    expect((await raw(`${h.url}${path('bad%E0%A4%A')}`, { headers: gw })).status).toBe(400);
    expect((await raw(`${h.url}${path('has%20space')}`, { headers: gw })).status).toBe(400);
  });

  it('routes only well-formed ids and known sub-resources', async () => {
    const { cid, actionId } = await assigned();
    const status = async (rest: string, method: 'GET' | 'POST' = 'GET') =>
      (await raw(`${h.url}${path(cid)}${rest}`, { method, headers: gw })).status;
    expect(await status(`/deploymentBase/${actionId}`)).toBe(200);
    expect(await status(`/deploymentBase/${actionId}?c=1&actionHistory=2`)).toBe(200);
    expect(await status('/deploymentBase/0')).toBe(404);
    expect(await status('/deploymentBase/-1')).toBe(404);
    expect(await status('/deploymentBase/1e3')).toBe(404);
    expect(await status('/deploymentBase/12345678901234567')).toBe(404);
    expect(await status(`/deploymentBase/${actionId}/feedback/more`)).toBe(404);
    expect(await status('/confirmationBase/activateAutoConfirm')).toBe(405);
    expect(await status('/softwaremodules/abc/artifacts')).toBe(404);
    expect(await status(`/deploymentBase/${actionId}`, 'POST')).toBe(405);
  });

  it('follows a gateway key changed while the server runs', async () => {
    const auth = { targetToken: true, gatewayToken: 'first-key' };
    const server = await startHarness({ auth });
    try {
      const url = `${server.url}${path(unique('gw'))}`;
      const as = async (key: string) =>
        (await raw(url, { headers: { authorization: `GatewayToken ${key}` } })).status;
      expect(await as('first-key')).toBe(200);
      auth.gatewayToken = 'second-key';
      expect(await as('first-key')).toBe(401);
      expect(await as('second-key')).toBe(200);
    } finally {
      await server.close();
    }
  });
});
