import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSignedSwu,
  hasSwupdate,
  type SuricattaProcess,
  SWUPDATE_BINARY,
  startSuricatta,
} from '../src/testing.js';
import { GATEWAY, type Harness, startHarness } from './helpers.js';

const present = hasSwupdate();
if (!present) {
  if (process.env.CI === 'true')
    throw new Error(
      `${SWUPDATE_BINARY} is missing: the SWUpdate suricatta interop tests cannot run (CI=true)`,
    );
  console.warn(
    `\n*** SKIPPED: SWUpdate suricatta interop tests: ${SWUPDATE_BINARY} not found (apt-get install swupdate) ***\n`,
  );
}

let h: Harness;
let dir: string;
let cert: string;
let swu: Buffer;
let suricatta: SuricattaProcess | undefined;

beforeAll(async () => {
  if (!present) return;
  dir = await mkdtemp(join(tmpdir(), 'ddi-swupdate-'));
  ({ swu, cert } = buildSignedSwu(dir));
  h = await startHarness({ pollingSleep: '00:00:01' });
});

afterEach(async () => {
  await stopSwupdate();
});

afterAll(async () => {
  if (!present) return;
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

function startSwupdate(controllerId: string, extraArgs: string[] = []): void {
  suricatta = startSuricatta({
    baseUrl: `http://127.0.0.1:${h.port}`,
    tenant: 'DEFAULT',
    controllerId,
    gatewayToken: GATEWAY,
    cert,
    workDir: dir,
    extraArgs,
  });
}

async function stopSwupdate(): Promise<void> {
  const running = suricatta;
  suricatta = undefined;
  await running?.stop();
}

/** Waits on the running suricatta (see `SuricattaProcess.waitUntil`). */
function until(what: string, check: () => Promise<boolean>, ms?: number): Promise<void> {
  if (!suricatta) throw new Error(`suricatta is not running, so ${what} cannot happen`);
  return suricatta.waitUntil(what, check, ms);
}

async function release(controllerId: string) {
  const module = await h.service.createSoftwareModule({
    type: 'os',
    name: 'firmware',
    version: '1.0.0',
  });
  const info = await h.files.write(module.id, 'test.swu', swu);
  await h.service.addArtifact(module.id, {
    filename: 'test.swu',
    size: info.size,
    hashes: { sha1: info.hashes.sha1, md5: info.hashes.md5, sha256: info.hashes.sha256! },
  });
  const set = await h.service.createDistributionSet({
    name: 'firmware',
    version: `1.0.0-${controllerId}`,
    modules: [module.id],
  });
  await h.service.createTarget({ controllerId });
  return (await h.service.assign(set.id, [{ controllerId }])).actions[0]!;
}

const messages = async (actionId: number) =>
  ((await h.service.getActionHistory(actionId)) ?? []).flatMap((e) => e.messages ?? []);

describe.skipIf(!present)('SWUpdate suricatta against the DDI server', () => {
  it('installs a signed .swu and, restarted with -c 2, closes the action: FINISHED, target IN_SYNC', async () => {
    const cid = `swu-${process.pid}-${Date.now()}`;
    const action = await release(cid);
    startSwupdate(cid);
    await until('"All Chunks Installed."', async () =>
      (await messages(action.id)).includes('All Chunks Installed.'),
    );
    await stopSwupdate();
    startSwupdate(cid, ['-c', '2']);
    await until(
      'FINISHED',
      async () => (await h.service.getAction(action.id))?.status === 'FINISHED',
    );
    await stopSwupdate();
    expect(await h.service.getAction(action.id)).toMatchObject({
      status: 'FINISHED',
      active: false,
    });
    expect((await h.service.getTarget(cid))?.updateStatus).toBe('IN_SYNC');
    const all = await messages(action.id);
    expect(all).toContain('Update Installed.');
    expect(all.some((m) => m.startsWith('Update Server: Target downloads'))).toBe(true);
  }, 90_000);

  it('acknowledges a cancel: CANCELED', async () => {
    const cid = `swc-${process.pid}-${Date.now()}`;
    const action = await release(cid);
    await h.service.cancel(action.id);
    startSwupdate(cid);
    await until(
      'CANCELED',
      async () => (await h.service.getAction(action.id))?.status === 'CANCELED',
    );
    await stopSwupdate();
    expect(await h.service.getAction(action.id)).toMatchObject({
      status: 'CANCELED',
      active: false,
    });
    expect((await h.service.getTarget(cid))?.updateStatus).toBe('IN_SYNC');
  }, 60_000);
});
