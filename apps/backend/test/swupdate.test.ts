import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildSignedSwu,
  hasSwupdate,
  type SuricattaProcess,
  SWUPDATE_BINARY,
  startSuricatta,
} from '@otaflow/ddi-http/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/server.js';
import { call, seed, startTestBackend } from './helpers.js';

/**
 * SWUpdate's suricatta updating through the whole backend: Management API upload and
 * assignment, DDI polling, download, feedback.
 */
const runs = hasSwupdate();
if (!runs) {
  if (process.env.CI === 'true')
    throw new Error(
      `${SWUPDATE_BINARY} is missing: the backend's suricatta test cannot run (CI=true)`,
    );
  console.warn(
    `\n*** SKIPPED backend suricatta test: ${SWUPDATE_BINARY} not found (apt-get install swupdate) ***\n`,
  );
}

let backend: Backend;
let dir: string;
let swu: Buffer;
let cert: string;
let suricatta: SuricattaProcess | undefined;

beforeAll(async () => {
  if (!runs) return;
  dir = await mkdtemp(join(tmpdir(), 'backend-swupdate-'));
  ({ swu, cert } = buildSignedSwu(dir));
  backend = await startTestBackend({ ddiPollingSleep: '00:00:01' });
});

afterAll(async () => {
  await stop();
  if (!runs) return;
  await backend?.close();
  await rm(dir, { recursive: true, force: true });
});

/** suricatta in dry-run against the loopback backend only; anonymous DDI (the default). */
function start(controllerId: string, extraArgs: string[] = []): void {
  suricatta = startSuricatta({
    baseUrl: backend.url,
    tenant: 'DEFAULT',
    controllerId,
    cert,
    workDir: dir,
    extraArgs,
  });
}

async function stop(): Promise<void> {
  const running = suricatta;
  suricatta = undefined;
  await running?.stop();
}

/** Waits on the running suricatta (see `SuricattaProcess.waitUntil`). */
function until(what: string, check: () => Promise<boolean>, ms?: number): Promise<void> {
  if (!suricatta) throw new Error(`suricatta is not running, so ${what} cannot happen`);
  return suricatta.waitUntil(what, check, ms);
}

describe.skipIf(!runs)('SWUpdate suricatta through the backend', () => {
  it('a full update via the Management API ends FINISHED, target IN_SYNC', async () => {
    const cid = `swu-${process.pid}-${Date.now()}`;
    const { moduleId, setId } = await seed(backend, [cid], 'swu-firmware');
    const form = new FormData();
    form.append('file', new Blob([swu]), 'test.swu');
    const upload = await fetch(`${backend.url}/rest/v1/softwaremodules/${moduleId}/artifacts`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
      body: form,
    });
    expect(upload.status).toBe(201);
    const assigned = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
      [{ id: cid, type: 'forced' }],
    );
    expect(assigned.status).toBe(200);
    const actionId = assigned.json.assignedActions[0].id as number;
    const action = async () =>
      (await call(backend, 'GET', `/rest/v1/targets/${cid}/actions/${actionId}`)).json;
    const history = async () =>
      (
        (await call(backend, 'GET', `/rest/v1/targets/${cid}/actions/${actionId}/status?limit=100`))
          .json.content as { messages?: string[] }[]
      ).flatMap((e) => e.messages ?? []);

    start(cid);
    await until('"All Chunks Installed."', async () =>
      (await history()).includes('All Chunks Installed.'),
    );
    await stop();
    // suricatta reports the final result after a restart, as on a real device after reboot.
    start(cid, ['-c', '2']);
    await until('FINISHED', async () => (await action()).status === 'finished');
    await stop();
    expect(await action()).toMatchObject({ status: 'finished', active: false });
    expect((await call(backend, 'GET', `/rest/v1/targets/${cid}`)).json.updateStatus).toBe(
      'in_sync',
    );
  }, 90_000);
});
