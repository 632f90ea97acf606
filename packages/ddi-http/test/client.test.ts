import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AssignTargetInput } from '@otaflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

beforeAll(async () => {
  h = await startHarness();
  downloads = await mkdtemp(join(tmpdir(), 'ddi-client-'));
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await h.close();
  await rm(downloads, { recursive: true, force: true });
});

const payload = randomBytesOf(300_000, 3);

function device(cid: string, extra: Partial<DdiClientOptions> = {}) {
  const installs: DdiInstallJob[] = [];
  const progress: DdiProgressEvent[] = [];
  const client = new DdiClient({
    baseUrl: h.url,
    tenant: 'default',
    controllerId: cid,
    gatewayToken: GATEWAY,
    downloadDir: downloads,
    resumeDelayMs: 10,
    installer: {
      async install(job) {
        installs.push(job);
        const bytes = await readFile(job.files[0]!.path);
        await job.report(['flashing'], { cnt: 1, of: 2 });
        return { success: bytes.equals(payload), details: ['Installed.'] };
      },
    },
    onProgress: (e) => progress.push(e),
    ...extra,
  });
  clients.push(client);
  return { client, installs, progress };
}

async function assignNew(cid: string, opts: Partial<AssignTargetInput> = {}, badSha256 = false) {
  const rel = await addRelease(h, [{ name: 'fw.bin', bytes: payload, badSha256 }], unique('v'));
  const { actions } = await h.service.assign(rel.setId, [{ controllerId: cid, ...opts }]);
  return actions[0]!;
}

async function registered(): Promise<string> {
  const cid = unique('dev');
  await h.service.createTarget({ controllerId: cid });
  return cid;
}

const statuses = async (id: number) => (await h.service.getActionHistory(id))!.map((e) => e.status);

describe('DdiClient against the DDI server', () => {
  it('forced: downloads, verifies, installs and closes; the target is IN_SYNC', async () => {
    const cid = await registered();
    const action = await assignNew(cid, { type: 'forced' });
    const { client, installs, progress } = device(cid, {
      configData: () => ({ data: { hwRevision: '1.0' } }),
    });
    const outcome = await client.pollOnce();
    expect(outcome).toMatchObject({
      kind: 'installed',
      actionId: String(action.id),
      sleepMs: 1000,
    });
    expect(installs).toHaveLength(1);
    expect(await h.service.getAction(action.id)).toMatchObject({
      status: 'FINISHED',
      active: false,
    });
    expect((await h.service.getTarget(cid))?.updateStatus).toBe('IN_SYNC');
    expect((await h.service.getTarget(cid))?.attributes).toEqual({ hwRevision: '1.0' });
    expect(await statuses(action.id)).toEqual([
      'RUNNING',
      'RETRIEVED',
      'DOWNLOAD',
      'DOWNLOAD',
      'DOWNLOADED',
      'RUNNING',
      'RUNNING',
      'FINISHED',
    ]);
    expect(progress.filter((p) => p.phase === 'download').at(-1)).toMatchObject({
      received: payload.length,
      total: payload.length,
    });
    expect(progress.map((p) => p.phase)).toContain('finished');
    expect((await client.pollOnce()).kind).toBe('idle');
    const base = await client.getControllerBase();
    const installed = await client.getInstalledBase(base._links!.installedBase!.href);
    expect(installed.id).toBe(String(action.id));
  });

  it('soft: an attempt may be deferred, then taken', async () => {
    const cid = await registered();
    const action = await assignNew(cid, { type: 'soft' });
    let accept = false;
    const { client, installs } = device(cid, { acceptAttempt: () => accept });
    expect((await client.pollOnce()).kind).toBe('deferred');
    expect(installs).toHaveLength(0);
    expect((await h.service.getAction(action.id))?.active).toBe(true);
    accept = true;
    expect((await client.pollOnce()).kind).toBe('installed');
    expect((await h.service.getAction(action.id))?.status).toBe('FINISHED');
  });

  it('download-only: downloads, reports downloaded, never installs', async () => {
    const cid = await registered();
    const action = await assignNew(cid, { type: 'downloadonly' });
    const { client, installs } = device(cid);
    expect((await client.pollOnce()).kind).toBe('downloaded');
    expect(installs).toHaveLength(0);
    expect(await h.service.getAction(action.id)).toMatchObject({
      status: 'DOWNLOADED',
      active: false,
    });
    expect((await h.service.getTarget(cid))?.updateStatus).toBe('IN_SYNC');
  });

  it('maintenance window closed: downloads and waits without installing', async () => {
    const cid = await registered();
    const action = await assignNew(cid, {
      maintenanceWindow: { schedule: '0 0 0 1 1 ? 2099', duration: '00:01:00', timezone: '+00:00' },
    });
    const { client, installs } = device(cid);
    expect((await client.pollOnce()).kind).toBe('waiting');
    expect((await client.pollOnce()).kind).toBe('waiting');
    expect(installs).toHaveLength(0);
    expect((await h.service.getAction(action.id))?.active).toBe(true);
    expect((await statuses(action.id)).filter((s) => s === 'DOWNLOADED')).toHaveLength(1);
  });

  it('confirmation confirmed: consent first, then the update', async () => {
    const cid = await registered();
    const action = await assignNew(cid, { confirmationRequired: true });
    const asked: string[] = [];
    const { client } = device(cid, {
      confirm: (a) => {
        asked.push(a.id);
        return { confirmed: true, details: ['User accepted'], code: 200 };
      },
    });
    expect((await client.pollOnce()).kind).toBe('confirmed');
    expect(asked).toEqual([String(action.id)]);
    expect((await h.service.getAction(action.id))?.status).toBe('RUNNING');
    expect((await client.pollOnce()).kind).toBe('installed');
    expect((await h.service.getTarget(cid))?.updateStatus).toBe('IN_SYNC');
  });

  it('confirmation denied: the action keeps waiting and is offered again', async () => {
    const cid = await registered();
    const action = await assignNew(cid, { confirmationRequired: true });
    const { client, installs } = device(cid, {
      confirm: () => ({ confirmed: false, details: ['not now'] }),
    });
    expect((await client.pollOnce()).kind).toBe('denied');
    expect((await client.pollOnce()).kind).toBe('denied');
    expect(installs).toHaveLength(0);
    expect(await h.service.getAction(action.id)).toMatchObject({
      status: 'WAIT_FOR_CONFIRMATION',
      active: true,
    });
  });

  it('auto-confirm: activating confirms the waiting action; deactivating turns it off', async () => {
    const cid = await registered();
    const action = await assignNew(cid, { confirmationRequired: true });
    const { client } = device(cid);
    expect((await client.pollOnce()).kind).toBe('unconfirmed');
    await client.activateAutoConfirm('device-user', 'always');
    expect((await client.getConfirmationBase()).autoConfirm).toMatchObject({
      active: true,
      initiator: 'device-user',
      remark: 'always',
    });
    expect((await h.service.getAction(action.id))?.status).toBe('RUNNING');
    const again = await client.activateAutoConfirm().catch((e: unknown) => e);
    expect(again).toBeInstanceOf(DdiError);
    expect((again as DdiError).status).toBe(409);
    await client.deactivateAutoConfirm();
    expect((await client.getConfirmationBase()).autoConfirm.active).toBe(false);
    expect((await client.pollOnce()).kind).toBe('installed');
  });

  it('cancel accepted: the action ends CANCELED', async () => {
    const cid = await registered();
    const action = await assignNew(cid);
    await h.service.cancel(action.id);
    const { client, progress } = device(cid);
    expect(await client.pollOnce()).toMatchObject({
      kind: 'canceled',
      actionId: String(action.id),
    });
    expect(await h.service.getAction(action.id)).toMatchObject({
      status: 'CANCELED',
      active: false,
    });
    expect(progress.map((p) => p.phase)).toContain('canceled');
  });

  it('cancel rejected: the action runs on and is installed', async () => {
    const cid = await registered();
    const action = await assignNew(cid);
    await h.service.cancel(action.id);
    const { client } = device(cid, { onCancel: () => false });
    expect((await client.pollOnce()).kind).toBe('cancelRejected');
    expect(await statuses(action.id)).toContain('CANCEL_REJECTED');
    expect((await h.service.getAction(action.id))?.active).toBe(true);
    // hawkBit: a rejected cancel leaves the action RUNNING again (issue 15).
    expect((await h.service.getAction(action.id))?.status).toBe('RUNNING');
    expect((await client.pollOnce()).kind).toBe('installed');
    expect((await h.service.getAction(action.id))?.status).toBe('FINISHED');
  });

  it('failure: a failed installation closes the action as ERROR', async () => {
    const cid = await registered();
    const action = await assignNew(cid);
    const { client } = device(cid, {
      installer: { install: async () => ({ success: false, details: ['disk full'], code: 28 }) },
    });
    expect((await client.pollOnce()).kind).toBe('failed');
    expect(await h.service.getAction(action.id)).toMatchObject({
      status: 'ERROR',
      active: false,
      lastStatusCode: 28,
    });
    expect((await h.service.getTarget(cid))?.updateStatus).toBe('ERROR');
  });

  it('failure: a hash mismatch fails the download and the action', async () => {
    const cid = await registered();
    const action = await assignNew(cid, {}, true);
    const { client, installs } = device(cid);
    expect((await client.pollOnce()).kind).toBe('failed');
    expect(installs).toHaveLength(0);
    const history = (await h.service.getActionHistory(action.id))!;
    expect(history.at(-1)).toMatchObject({ status: 'ERROR' });
    expect(history.at(-1)?.messages?.[0]).toContain('sha256');
  });

  it('a download cut off midway resumes with Range and completes', async () => {
    const cid = await registered();
    const action = await assignNew(cid);
    h.source.reads.length = 0;
    h.source.cutNextFullRead = true;
    const { client, installs } = device(cid);
    expect((await client.pollOnce()).kind).toBe('installed');
    expect(installs).toHaveLength(1);
    const resumed = h.source.reads.find((r) => r !== undefined);
    expect(resumed?.start).toBeGreaterThan(0);
    expect(resumed?.end).toBe(payload.length - 1);
    expect((await h.service.getAction(action.id))?.status).toBe('FINISHED');
  });

  it('the polling loop backs off on 503, 429 and network trouble, then installs', async () => {
    const cid = await registered();
    const action = await assignNew(cid);
    let failures = 0;
    h.intercept = (req, res) => {
      if (!req.url?.endsWith(`/controller/v1/${cid}`) || failures >= 3) return false;
      failures++;
      if (failures === 1) res.writeHead(503).end();
      else if (failures === 2) res.writeHead(429, { 'retry-after': '0' }).end();
      else req.socket.destroy();
      return true;
    };
    const done = new Promise<void>((resolve) => {
      const { client } = device(cid, {
        backoff: { initialMs: 5, maxMs: 50 },
        onProgress: (e) => {
          if (e.phase === 'finished') resolve();
        },
      });
      client.start();
    });
    await done;
    h.intercept = undefined;
    expect(failures).toBe(3);
    expect((await h.service.getAction(action.id))?.status).toBe('FINISHED');
  });

  it('reports an offline installation through installedBase', async () => {
    const cid = await registered();
    await addRelease(h, [{ name: 'fw.bin', bytes: payload }], 'offline-1');
    const { client } = device(cid);
    expect(await client.putInstalledBase('firmware', 'offline-1')).toBe(true);
    expect(await client.putInstalledBase('firmware', 'offline-1')).toBe(false);
    expect((await h.service.getTarget(cid))?.updateStatus).toBe('IN_SYNC');
  });

  it('sends every feedback kind', async () => {
    const cid = await registered();
    const action = await assignNew(cid);
    const { client } = device(cid);
    const id = String(action.id);
    for (const execution of [
      'download',
      'downloaded',
      'proceeding',
      'scheduled',
      'resumed',
      'rejected',
      'canceled',
    ] as const) {
      await client.sendFeedback(id, execution, 'none', { details: [execution] });
    }
    await client.sendFeedback(id, 'closed', 'failure', { code: 1 });
    expect(await statuses(action.id)).toEqual([
      'RUNNING',
      'DOWNLOAD',
      'DOWNLOADED',
      'RUNNING',
      'RUNNING',
      'RUNNING',
      'WARNING',
      'CANCELED',
      'ERROR',
    ]);
    const gone = await client.sendFeedback(id, 'closed', 'success').catch((e: unknown) => e);
    expect((gone as DdiError).status).toBe(410);
  });
});
