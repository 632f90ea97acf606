import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnApp, waitFor } from '@otaflow/cli';
import { MemoryUpdateStore, UpdateService } from '@otaflow/core';
import { type Commander, createCommander } from '@otaflow/iothub-mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const MQTT_URL = 'mqtt://127.0.0.1:1883';

function brokerUp(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(1883, '127.0.0.1', () => done(true));
  });
}
const up = await brokerUp();
if (!up && process.env.CI !== 'true')
  console.warn(
    `\n*** SKIPPED device-mqtt broker tests: no Mosquitto at ${MQTT_URL} (set CI=true to fail instead) ***\n`,
  );

const runApp = (args: string[], env: Record<string, string> = {}) => spawnApp(main, args, { env });

const unique = (p: string) => `${p}-${process.pid}-${randomBytes(4).toString('hex')}`;

describe('otaflow-device-mqtt', () => {
  it('prints --help with flags and env vars, exit 0', async () => {
    const r = await runApp(['--help']).done;
    expect(r.code).toBe(0);
    for (const s of [
      '--mqtt-url <URL>',
      'env MQTT_URL',
      'env HONO_TENANT',
      '--state-file',
      '--ca-file',
    ])
      expect(r.out).toContain(s);
  });

  it('refuses a bad flag with exit code 2', async () => {
    const r = await runApp(['--nope']).done;
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown option --nope');
  });
});

describe.skipIf(!up && process.env.CI !== 'true')('otaflow-device-mqtt against Mosquitto', () => {
  const tenant = unique('tenant');
  const body = randomBytes(150_000);
  let service: UpdateService;
  let commander: Commander;
  let http: Server;
  let base: string;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    if (!up)
      throw new Error(`no Mosquitto at ${MQTT_URL}; CI=true, so this fails instead of skipping`);
    dir = await mkdtemp(join(tmpdir(), 'otaflow-device-mqtt-test-'));
    http = createServer((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': body.length,
      });
      res.end(body);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    service = new UpdateService({ store: new MemoryUpdateStore() });
    commander = createCommander({
      url: MQTT_URL,
      service,
      tenant,
      clientId: unique('commander'),
      artifactUrl: (m, a) => `${base}/${m.id}/${a.filename}`,
      responseTimeoutMs: 10_000,
    });
    await commander.start();
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await commander?.stop();
    http?.closeAllConnections();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function release(): Promise<number> {
    const module = await service.createSoftwareModule({
      type: 'application',
      name: 'app',
      version: unique('v'),
    });
    const hash = (alg: string) => createHash(alg).update(body).digest('hex');
    await service.addArtifact(module.id, {
      filename: 'app.bin',
      size: body.length,
      hashes: { sha1: hash('sha1'), md5: hash('md5'), sha256: hash('sha256') },
    });
    const set = await service.createDistributionSet({
      name: 'app',
      version: module.version,
      modules: [module.id],
    } as never);
    return set.id;
  }

  function device(deviceId: string, extra: string[] = []) {
    const run = runApp(
      [
        '--device-id',
        deviceId,
        '--download-dir',
        join(dir, deviceId),
        '--simulate-ms',
        '200',
        ...extra,
      ],
      { MQTT_URL, HONO_TENANT: tenant },
    );
    children.push(run.child);
    return run;
  }

  async function updateOf(deviceId: string) {
    const target = await waitFor(async () => {
      const t = await service.getTarget(deviceId);
      return t?.channel === 'mqtt' ? t : undefined;
    }, `${deviceId} to announce itself`);
    const { actions } = await service.assign(await release(), [
      { controllerId: target.controllerId },
    ]);
    const actionId = actions[0]!.id;
    return waitFor(async () => {
      const a = await service.getAction(actionId);
      return a && !a.active ? a : undefined;
    }, `action ${actionId} to close`);
  }

  it('announces itself, installs (simulated) -> FINISHED, stops cleanly on SIGTERM', async () => {
    const deviceId = unique('dev');
    const run = device(deviceId);
    const action = await updateOf(deviceId);
    expect(action.status).toBe('FINISHED');
    expect((await service.getTarget(deviceId))?.updateStatus).toBe('IN_SYNC');
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(0);
    const msgs = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).msg);
    expect(msgs).toContain('announced');
    expect(msgs).toContain('downloading');
    expect(msgs).toContain('installing');
    expect(msgs.at(-1)).toBe('stopped');
  });

  it('--fail-install -> ERROR', async () => {
    const deviceId = unique('dev');
    device(deviceId, ['--fail-install']);
    const action = await updateOf(deviceId);
    expect(action.status).toBe('ERROR');
    expect(JSON.stringify(await service.getActionHistory(action.id))).toContain('--fail-install');
  });

  it('--fail-download -> ERROR', async () => {
    const deviceId = unique('dev');
    device(deviceId, ['--fail-download']);
    expect((await updateOf(deviceId)).status).toBe('ERROR');
  });

  it('--install-command gets the artifact: test -s "$1" -> FINISHED', async () => {
    const deviceId = unique('dev');
    device(deviceId, ['--install-command', 'test -s "$1" && test "$1" = "$OTAFLOW_ARTIFACTS"']);
    expect((await updateOf(deviceId)).status).toBe('FINISHED');
  });

  it('--state-file: killed while installing, the restarted device finishes the update', async () => {
    const deviceId = unique('dev');
    const stateFile = join(dir, `${deviceId}.json`);
    const first = device(deviceId, ['--state-file', stateFile, '--simulate-ms', '20000']);
    await waitFor(async () => {
      const t = await service.getTarget(deviceId);
      return t?.channel === 'mqtt' ? t : undefined;
    }, `${deviceId} to announce itself`);
    const { actions } = await service.assign(await release(), [{ controllerId: deviceId }]);
    const actionId = actions[0]!.id;
    await waitFor(
      async () => first.stdout().includes('"msg":"installing"'),
      'the install to start',
    );
    first.child.kill('SIGKILL');
    await first.done;
    expect((await service.getAction(actionId))?.active).toBe(true);
    const second = device(deviceId, ['--state-file', stateFile]);
    const action = await waitFor(async () => {
      const a = await service.getAction(actionId);
      return a && !a.active ? a : undefined;
    }, `action ${actionId} to close after the restart`);
    expect(action.status).toBe('FINISHED');
    expect(second.stdout()).toContain('resuming an installation interrupted by a restart');
  });
});
