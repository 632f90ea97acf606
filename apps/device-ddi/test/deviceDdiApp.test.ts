import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnApp, waitFor } from '@otaflow/cli';
import { type AssignTargetInput, MemoryUpdateStore, UpdateService } from '@otaflow/core';
import { createDdiServer, FileArtifactSource } from '@otaflow/ddi-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const GATEWAY = `gw-${randomBytes(6).toString('hex')}`;

const runApp = (args: string[], env: Record<string, string> = {}) => spawnApp(main, args, { env });

let service: UpdateService;
let server: Server;
let url: string;
let dir: string;
let files: FileArtifactSource;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'otaflow-device-ddi-test-'));
  service = new UpdateService({ store: new MemoryUpdateStore() });
  files = new FileArtifactSource(join(dir, 'artifacts'));
  const ddi = createDdiServer({
    service,
    tenant: 'DEFAULT',
    artifacts: files,
    auth: { targetToken: true, gatewayToken: GATEWAY },
    autoRegister: true,
    pollingSleep: '00:00:01',
  });
  server = createServer((req, res) => {
    void ddi.handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

const unique = (p: string) => `${p}-${process.pid}-${randomBytes(4).toString('hex')}`;

async function release(bytes: Buffer) {
  const module = await service.createSoftwareModule({
    type: 'os',
    name: 'firmware',
    version: unique('v'),
  });
  const info = await files.write(module.id, 'fw.bin', bytes);
  await service.addArtifact(module.id, {
    filename: 'fw.bin',
    size: info.size,
    hashes: info.hashes as never,
  });
  const set = await service.createDistributionSet({
    name: 'fw',
    version: module.version,
    modules: [module.id],
  } as never);
  return set.id;
}

async function assigned(opts: Partial<AssignTargetInput> = {}, bytes = randomBytes(200_000)) {
  const controllerId = unique('dev');
  await service.createTarget({ controllerId });
  const setId = await release(bytes);
  const { actions } = await service.assign(setId, [{ controllerId, ...opts }]);
  return { controllerId, actionId: actions[0]!.id };
}

function device(controllerId: string, extra: string[] = []) {
  const run = runApp(
    [
      '--controller-id',
      controllerId,
      '--download-dir',
      join(dir, 'downloads', controllerId),
      '--simulate-ms',
      '100',
      ...extra,
    ],
    { DDI_URL: url, DDI_GATEWAY_TOKEN: GATEWAY },
  );
  children.push(run.child);
  return run;
}

const logLines = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('otaflow-device-ddi', () => {
  it('prints --help with flags and env vars, exit 0', async () => {
    const r = await runApp(['--help']).done;
    expect(r.code).toBe(0);
    for (const s of [
      '--url <URL>',
      'env DDI_URL',
      '--install-command',
      'env DDI_CONFIRM',
      '--once',
    ])
      expect(r.out).toContain(s);
  });

  it('refuses a bad flag with exit code 2', async () => {
    const r = await runApp(['--bogus']).done;
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown option --bogus');
  });

  it('refuses a bad --confirm value', async () => {
    const r = await runApp(['--confirm', 'maybe', '--once']).done;
    expect(r.code).toBe(1);
    expect(r.err).toContain('--confirm must be auto, deny or prompt');
  });

  it('runs until SIGTERM: registers, installs (simulated) -> FINISHED, stops cleanly', async () => {
    const controllerId = unique('dev');
    const run = device(controllerId, ['--poll-ms', '200']);
    await waitFor(() => service.getTarget(controllerId), 'the device to register');
    const setId = await release(randomBytes(300_000));
    const { actions } = await service.assign(setId, [{ controllerId }]);
    const actionId = actions[0]!.id;
    const action = await waitFor(async () => {
      const a = await service.getAction(actionId);
      return a && !a.active ? a : undefined;
    }, 'the action to close');
    expect(action.status).toBe('FINISHED');
    expect((await service.getTarget(controllerId))?.updateStatus).toBe('IN_SYNC');
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(0);
    const msgs = logLines(r.out).map((l) => l.msg);
    expect(msgs).toContain('downloading');
    expect(msgs).toContain('update installed');
    expect(msgs.at(-1)).toBe('stopped');
  });

  it('--fail-install: the action ends ERROR, --once exits 1', async () => {
    const { controllerId, actionId } = await assigned();
    const r = await device(controllerId, ['--once', '--fail-install']).done;
    expect(r.code).toBe(1);
    expect((await service.getAction(actionId))?.status).toBe('ERROR');
    const history = await service.getActionHistory(actionId);
    expect(JSON.stringify(history)).toContain('--fail-install');
  });

  it('--fail-download: the action ends ERROR', async () => {
    const { controllerId, actionId } = await assigned();
    const r = await device(controllerId, ['--once', '--fail-download']).done;
    expect(r.code).toBe(1);
    expect((await service.getAction(actionId))?.status).toBe('ERROR');
  });

  it('--install-command gets the downloaded artifact: test -s "$1" -> FINISHED', async () => {
    const { controllerId, actionId } = await assigned();
    const r = await device(controllerId, ['--once', '--install-command', 'test -s "$1"']).done;
    expect(r.code).toBe(0);
    expect((await service.getAction(actionId))?.status).toBe('FINISHED');
  });

  it('a failing --install-command -> ERROR with its exit code and stderr tail', async () => {
    const { controllerId, actionId } = await assigned();
    const r = await device(controllerId, [
      '--once',
      '--install-command',
      'echo "flash: bad block" >&2; exit 3',
    ]).done;
    expect(r.code).toBe(1);
    expect((await service.getAction(actionId))?.status).toBe('ERROR');
    expect(JSON.stringify(await service.getActionHistory(actionId))).toContain('flash: bad block');
  });

  it('--confirm deny keeps the action WAIT_FOR_CONFIRMATION', async () => {
    const { controllerId, actionId } = await assigned({ confirmationRequired: true });
    expect((await service.getAction(actionId))?.status).toBe('WAIT_FOR_CONFIRMATION');
    const r = await device(controllerId, ['--once', '--confirm', 'deny']).done;
    expect(r.code).toBe(0);
    expect(logLines(r.out).map((l) => l.msg)).toContain('denied');
    expect((await service.getAction(actionId))?.status).toBe('WAIT_FOR_CONFIRMATION');
  });

  it('--confirm prompt without a terminal denies', async () => {
    const { controllerId, actionId } = await assigned({ confirmationRequired: true });
    const r = await device(controllerId, ['--once', '--confirm', 'prompt']).done;
    expect(r.code).toBe(0);
    expect(r.out).toContain('no terminal to ask on');
    expect((await service.getAction(actionId))?.status).toBe('WAIT_FOR_CONFIRMATION');
  });

  it('--confirm auto confirms, and the next cycle installs', async () => {
    const { controllerId, actionId } = await assigned({ confirmationRequired: true });
    expect((await device(controllerId, ['--once']).done).code).toBe(0);
    expect((await service.getAction(actionId))?.status).toBe('RUNNING');
    expect((await device(controllerId, ['--once']).done).code).toBe(0);
    expect((await service.getAction(actionId))?.status).toBe('FINISHED');
  });
  it('accepts a cancel: CANCELING -> CANCELED', async () => {
    const { controllerId, actionId } = await assigned();
    expect((await service.cancel(actionId)).ok).toBe(true);
    expect((await device(controllerId, ['--once']).done).code).toBe(0);
    expect((await service.getAction(actionId))?.status).toBe('CANCELED');
  });

  it('--refuse-cancel: the cancel is rejected and the action runs on', async () => {
    const { controllerId, actionId } = await assigned();
    expect((await service.cancel(actionId)).ok).toBe(true);
    const r = await device(controllerId, ['--once', '--refuse-cancel']).done;
    expect(r.code).toBe(0);
    expect(r.out).toContain('refusing cancel');
    const action = await service.getAction(actionId);
    expect(action?.active).toBe(true);
    expect(action?.status).not.toBe('CANCELED');
  });
});
