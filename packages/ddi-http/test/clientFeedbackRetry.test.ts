/**
 * A server that drops, stalls or refuses feedback must not fail a good installation (issue 15: a
 * 6-second stall ended three healthy installs in `error`). The DDI server runs behind a real
 * node:http server on loopback that misbehaves on the first feedback POSTs.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DdiClient,
  type DdiClientOptions,
  DdiError,
  type DdiInstallJob,
  type DdiProgressEvent,
} from '../src/index.js';
import {
  addRelease,
  GATEWAY,
  type Harness,
  randomBytesOf,
  startHarness,
  unique,
} from './helpers.js';

let h: Harness;
let downloads: string;
const clients: DdiClient[] = [];
const payload = randomBytesOf(50_000, 5);

beforeAll(async () => {
  h = await startHarness();
  downloads = await mkdtemp(join(tmpdir(), 'ddi-retry-'));
});
afterEach(() => {
  h.intercept = undefined;
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await h.close();
  await rm(downloads, { recursive: true, force: true });
});

function device(cid: string, extra: Partial<DdiClientOptions> = {}) {
  const installs: DdiInstallJob[] = [];
  const progress: DdiProgressEvent[] = [];
  const client = new DdiClient({
    baseUrl: h.url,
    tenant: 'DEFAULT',
    controllerId: cid,
    gatewayToken: GATEWAY,
    downloadDir: downloads,
    feedbackRetry: { initialMs: 20, maxMs: 200, timeoutMs: 300 },
    installer: {
      async install(job) {
        installs.push(job);
        await job.report(['flashing'], { cnt: 1, of: 2 });
        await job.report(['verifying'], { cnt: 2, of: 2 });
        const bytes = await readFile(job.files[0]!.path);
        return { success: bytes.equals(payload), details: ['Installed.'] };
      },
    },
    onProgress: (e) => progress.push(e),
    ...extra,
  });
  clients.push(client);
  return { client, installs, progress };
}

async function assigned(opts: { type?: 'forced' | 'downloadonly' } = {}) {
  const cid = unique('retry');
  await h.service.createTarget({ controllerId: cid });
  const rel = await addRelease(h, [{ name: 'fw.bin', bytes: payload }], unique('v'));
  const { actions } = await h.service.assign(rel.setId, [{ controllerId: cid, ...opts }]);
  return { cid, actionId: actions[0]!.id };
}

type Misbehaviour = (req: IncomingMessage, res: ServerResponse, n: number) => boolean;

/** Runs `misbehave` on the feedback POSTs of `cid` (numbered from 1); the rest pass through. */
function onFeedback(cid: string, misbehave: Misbehaviour): { posts: string[] } {
  const seen = { posts: [] as string[] };
  h.intercept = (req, res) => {
    if (req.method !== 'POST' || !req.url?.includes(`/${cid}/`) || !req.url.endsWith('/feedback'))
      return false;
    seen.posts.push(req.url);
    return misbehave(req, res, seen.posts.length);
  };
  return seen;
}

const finished = async (actionId: number) => {
  const action = await h.service.getAction(actionId);
  return { status: action?.status, active: action?.active };
};

describe('DdiClient feedback over a misbehaving server', () => {
  it('connections reset on the first four reports: the install still ends FINISHED', async () => {
    const { cid, actionId } = await assigned();
    const seen = onFeedback(cid, (req, _res, n) => {
      if (n > 4) return false;
      req.socket.destroy();
      return true;
    });
    const { client, installs, progress } = device(cid);
    expect((await client.pollOnce()).kind).toBe('installed');
    expect(installs).toHaveLength(1);
    expect(await finished(actionId)).toEqual({ status: 'FINISHED', active: false });
    expect((await h.service.getTarget(cid))?.updateStatus).toBe('IN_SYNC');
    expect(progress.find((p) => p.phase === 'finished')).toEqual({
      phase: 'finished',
      actionId: String(actionId),
      success: true,
    });
    // download, downloaded, proceeding, 2 reports, closed: 6 delivered after 4 resets.
    expect(seen.posts.length).toBe(10);
  });

  it('a stalled server (no answer, then reset) is waited out with timeouts and retries', async () => {
    const { cid, actionId } = await assigned();
    let stalls = 0;
    const held: ServerResponse[] = [];
    onFeedback(cid, (req, res, n) => {
      // Every third report stalls twice: longer than the client's 300 ms per attempt.
      if (n % 3 !== 0 || stalls >= 6) return false;
      stalls++;
      held.push(res);
      setTimeout(() => req.socket.destroy(), 1000).unref();
      return true;
    });
    const { client, installs } = device(cid);
    expect((await client.pollOnce()).kind).toBe('installed');
    expect(stalls).toBeGreaterThan(0);
    expect(installs).toHaveLength(1);
    expect(await finished(actionId)).toEqual({ status: 'FINISHED', active: false });
    for (const res of held) res.destroy();
  });

  it('503 and 429 with Retry-After are retried; the install is not failed', async () => {
    const { cid, actionId } = await assigned();
    onFeedback(cid, (_req, res, n) => {
      if (n === 1) res.writeHead(503).end();
      else if (n === 2) res.writeHead(429, { 'retry-after': '0' }).end();
      else if (n === 4) res.writeHead(502).end();
      else return false;
      return true;
    });
    const { client } = device(cid);
    expect((await client.pollOnce()).kind).toBe('installed');
    expect(await finished(actionId)).toEqual({ status: 'FINISHED', active: false });
  });

  it("a final report taken but whose answer was lost: the retry's 410 counts as delivered", async () => {
    const { cid, actionId } = await assigned();
    let dropped = false;
    onFeedback(cid, (req, res, n) => {
      // The sixth report is the final one (download, downloaded, proceeding, two reports, closed):
      // the server applies it, then its answer is lost with the connection.
      if (n !== 6) return false;
      const original = res.writeHead.bind(res);
      res.writeHead = ((...args: Parameters<ServerResponse['writeHead']>) => {
        if (dropped) return original(...args);
        dropped = true;
        req.socket.destroy();
        return res;
      }) as ServerResponse['writeHead'];
      return false;
    });
    const { client, installs } = device(cid);
    expect((await client.pollOnce()).kind).toBe('installed');
    expect(dropped).toBe(true);
    expect(installs).toHaveLength(1);
    expect(await finished(actionId)).toEqual({ status: 'FINISHED', active: false });
  });

  it('a final report lost past every retry is sent again next cycle, never installed twice', async () => {
    const { cid, actionId } = await assigned();
    let down = true;
    const seen = onFeedback(cid, (req, res) => {
      if (!down) return false;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (Buffer.concat(chunks).includes('"closed"')) res.writeHead(503).end();
        else req.socket.destroy();
      });
      return true;
    });
    const { client, installs, progress } = device(cid, {
      feedbackRetry: { retries: 2, initialMs: 5, maxMs: 20, timeoutMs: 300 },
    });
    const error = await client.pollOnce().catch((e: unknown) => e);
    expect((error as DdiError).status).toBe(503);
    expect(installs).toHaveLength(1);
    expect(progress.some((p) => p.phase === 'finished')).toBe(false);
    expect(await finished(actionId)).toMatchObject({ active: true });
    const before = seen.posts.length;
    down = false;
    expect((await client.pollOnce()).kind).toBe('installed');
    expect(seen.posts.length).toBe(before + 1);
    expect(installs).toHaveLength(1);
    expect(await finished(actionId)).toEqual({ status: 'FINISHED', active: false });
    expect(progress.filter((p) => p.phase === 'finished')).toHaveLength(1);
    expect((await client.pollOnce()).kind).toBe('idle');
  });

  it('a download-only action: its final `downloaded` is retried too', async () => {
    const { cid, actionId } = await assigned({ type: 'downloadonly' });
    onFeedback(cid, (req, _res, n) => {
      if (n !== 2) return false;
      req.socket.destroy();
      return true;
    });
    const { client, installs } = device(cid);
    expect((await client.pollOnce()).kind).toBe('downloaded');
    expect(installs).toHaveLength(0);
    expect(await finished(actionId)).toEqual({ status: 'DOWNLOADED', active: false });
  });

  it('4xx is never retried: 410 Gone answers once', async () => {
    const { cid, actionId } = await assigned();
    await h.service.apply(actionId, { type: 'action.finished', result: 'success', at: Date.now() });
    const seen = onFeedback(cid, () => false);
    const { client } = device(cid);
    const error = await client
      .sendFeedback(String(actionId), 'proceeding', 'none')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DdiError);
    expect((error as DdiError).status).toBe(410);
    expect(seen.posts).toHaveLength(1);
  });

  it("the device's own failure still fails the install, once, with its report", async () => {
    const { cid, actionId } = await assigned();
    onFeedback(cid, (req, _res, n) => {
      if (n !== 3) return false;
      req.socket.destroy();
      return true;
    });
    const { client } = device(cid, {
      installer: {
        async install(job) {
          await job.report(['flashing']);
          return { success: false, details: ['flash write failed'] };
        },
      },
    });
    expect((await client.pollOnce()).kind).toBe('failed');
    expect(await finished(actionId)).toEqual({ status: 'ERROR', active: false });
    const history = (await h.service.getActionHistory(actionId))!;
    expect(history.at(-1)?.messages).toEqual(['flash write failed']);
  });
});
