import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY, type Harness, startHarness } from './helpers.js';
import { buildSignedSwu } from './swu.js';

const SWUPDATE = '/usr/bin/swupdate';
const present = existsSync(SWUPDATE);
if (!present) {
  if (process.env.CI === 'true')
    throw new Error(
      `${SWUPDATE} is missing: the SWUpdate suricatta interop tests cannot run (CI=true)`,
    );
  console.warn(
    `\n*** SKIPPED: SWUpdate suricatta interop tests: ${SWUPDATE} not found (apt-get install swupdate) ***\n`,
  );
}

let h: Harness;
let dir: string;
let cert: string;
let swu: Buffer;
let child: ChildProcess | undefined;
let log = '';

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

/** Runs suricatta in dry-run against the loopback server only, with a throwaway config. */
function startSwupdate(controllerId: string, extra: string[] = []): void {
  const inner = [
    '-t',
    'DEFAULT',
    '-u',
    `http://127.0.0.1:${h.port}`,
    '-i',
    controllerId,
    '-g',
    GATEWAY,
    '-p',
    '1',
    '-w',
    '1',
    ...extra,
  ].join(' ');
  const config = join(dir, 'empty.cfg');
  // An empty config keeps swupdate from reading /etc/swupdate.cfg.
  writeFileSync(config, 'globals : { };\n');
  child = spawn(SWUPDATE, ['-v', '-n', '-f', config, '-k', cert, '-H', 'test:1.0', '-u', inner], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
}

async function stopSwupdate(): Promise<void> {
  const proc = child;
  child = undefined;
  if (!proc || proc.exitCode !== null || proc.pid === undefined) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

async function until(what: string, check: () => Promise<boolean>, ms = 40_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; swupdate log tail:\n${log.slice(-3000)}`);
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
    log = '';
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
    log = '';
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
