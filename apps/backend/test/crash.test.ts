import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AppProcess, spawnApp } from '@otaflow/cli';
import { describe, expect, it } from 'vitest';
import { freePort, type Json, mgmt, postgresAvailable, scratchDatabase } from './services.js';

/**
 * The real `otaflow-backend` in a child process, killed with SIGKILL while DDI devices are
 * mid-update and an upload is half sent, then started again on the same state: nothing committed
 * is lost, nothing half done is visible, the devices finish, and finished actions stay put.
 */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const AUTH = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
const TENANT = 'DEFAULT';
const DEVICES = ['crash-done', 'crash-running', 'crash-downloaded', 'crash-idle'];

interface Running {
  app: AppProcess;
  url: string;
  ready: Record<string, unknown>;
}

async function startBackend(args: string[]): Promise<Running> {
  const app = spawnApp(MAIN, args, {
    env: { DATABASE_URL: undefined, STORE: undefined, DATA_DIR: undefined },
  });
  try {
    const line = await app.waitForLine((l) => l.includes('"msg":"ready"'), 90_000);
    const ready = JSON.parse(line) as Record<string, unknown>;
    return { app, url: String(ready.url), ready };
  } catch (error) {
    app.child.kill('SIGKILL');
    throw new Error(`backend did not start: ${error}\n${app.stdout().slice(-3000)}`);
  }
}

async function ddi(
  url: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const res = await fetch(
    path.startsWith('http') ? path : `${url}/${TENANT}/controller/v1/${path}`,
    {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Accept: 'application/hal+json', 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    },
  );
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const feedback = (execution: string, finished = 'none') => ({
  status: { execution, result: { finished } },
});

/** A device's current deployment: action id and its first artifact's download link. */
async function deploymentOf(url: string, device: string) {
  const root = await ddi(url, device);
  const href = root.json?._links?.deploymentBase?.href as string | undefined;
  if (!href) return undefined;
  const deployment = await ddi(url, href);
  const artifact = deployment.json.deployment.chunks[0].artifacts[0];
  return { actionId: Number(deployment.json.id), download: artifact._links['download-http'].href };
}

/** Everything the management API shows: targets, their actions with full status histories, artifacts. */
async function snapshot(url: string, moduleId: number) {
  const targets = (await mgmt(url, 'GET', '/targets?limit=100&sort=controllerId:ASC')).content.map(
    (t: Json) => ({ controllerId: t.controllerId, updateStatus: t.updateStatus }),
  );
  const actions: Record<string, Json[]> = {};
  for (const device of DEVICES) {
    const list = (await mgmt(url, 'GET', `/targets/${device}/actions?limit=100`)).content as Json[];
    actions[device] = [];
    for (const action of list.sort((a, b) => a.id - b.id)) {
      const history = await mgmt(
        url,
        'GET',
        `/targets/${device}/actions/${action.id}/status?limit=100`,
      );
      actions[device].push({
        id: action.id,
        status: action.status,
        active: action.active,
        history: (history.content as Json[])
          .map((s) => ({ id: s.id, type: s.type, messages: s.messages, reportedAt: s.reportedAt }))
          .sort((a, b) => a.id - b.id),
      });
    }
  }
  const artifacts = (await mgmt(url, 'GET', `/softwaremodules/${moduleId}/artifacts`)) as Json[];
  return {
    targets,
    actions,
    artifacts: artifacts
      .map((a) => ({ id: a.id, filename: a.providedFilename, size: a.size, hashes: a.hashes }))
      .sort((a, b) => a.id - b.id),
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** Sends the first half of a multipart upload and never the rest: the crash comes mid-body. */
async function startHalfUpload(url: string, moduleId: number): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  const boundary = 'crashboundary';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const socket = net.connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) =>
    socket.once('connect', resolve).once('error', reject),
  );
  socket.on('error', () => {});
  socket.write(
    `POST /rest/v1/softwaremodules/${moduleId}/artifacts HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: ${AUTH}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + 2_000_000}\r\n\r\n${head}`,
  );
  socket.write(Buffer.alloc(1_000_000, 7));
  return socket;
}

async function crashAndRecover(kind: 'pglite' | 'postgres') {
  const dataDir = await mkdtemp(join(tmpdir(), `otaflow-crash-${kind}-`));
  const cleanups: (() => Promise<unknown>)[] = [
    () => rm(dataDir, { recursive: true, force: true }),
  ];
  let running: Running | undefined;
  try {
    const args = ['--port', String(await freePort()), '--data-dir', dataDir];
    args.push('--ddi-polling-sleep', '00:00:01', '--log-level', 'info');
    if (kind === 'postgres') {
      const database = await scratchDatabase('otaflow_crash');
      cleanups.push(() => database.drop());
      args.push('--database-url', database.url);
    }

    running = await startBackend(args);
    expect(running.ready.store).toBe(kind);
    const { url } = running;
    await mgmt(
      url,
      'POST',
      '/targets',
      DEVICES.map((controllerId) => ({ controllerId })),
    );
    const [module] = await mgmt(url, 'POST', '/softwaremodules', [
      { type: 'os', name: 'crash-fw', version: '1' },
    ]);
    const bytes = Buffer.from(`firmware for the crash test ${kind}\n`.repeat(1000));
    const form = new FormData();
    form.append('file', new Blob([bytes]), 'fw.bin');
    const uploaded = await fetch(`${url}/rest/v1/softwaremodules/${module.id}/artifacts`, {
      method: 'POST',
      headers: { Authorization: AUTH },
      body: form,
    });
    expect(uploaded.status).toBe(201);
    const [set] = await mgmt(url, 'POST', '/distributionsets', [
      { name: 'crash-fw', version: '1', type: 'os', modules: [{ id: module.id }] },
    ]);
    await mgmt(
      url,
      'POST',
      `/distributionsets/${set.id}/assignedTargets`,
      DEVICES.map((id) => ({ id })),
    );

    // One device finishes, one is installing, one has only downloaded, one has not polled yet.
    const done = await deploymentOf(url, 'crash-done');
    expect(
      (
        await ddi(
          url,
          `crash-done/deploymentBase/${done?.actionId}/feedback`,
          feedback('closed', 'success'),
        )
      ).status,
    ).toBe(200);
    const installing = await deploymentOf(url, 'crash-running');
    await ddi(
      url,
      `crash-running/deploymentBase/${installing?.actionId}/feedback`,
      feedback('download'),
    );
    await ddi(
      url,
      `crash-running/deploymentBase/${installing?.actionId}/feedback`,
      feedback('proceeding'),
    );
    const downloaded = await deploymentOf(url, 'crash-downloaded');
    const got = await fetch(String(downloaded?.download));
    expect(Buffer.from(await got.arrayBuffer())).toEqual(bytes);
    await ddi(
      url,
      `crash-downloaded/deploymentBase/${downloaded?.actionId}/feedback`,
      feedback('downloaded'),
    );

    const before = await snapshot(url, module.id);
    expect(before.actions['crash-done']?.[0]).toMatchObject({ status: 'finished', active: false });
    expect(before.actions['crash-running']?.[0]).toMatchObject({ active: true });
    expect(before.artifacts).toHaveLength(1);
    expect(before.targets).toHaveLength(DEVICES.length);
    // Assigned, retrieved, download, proceeding: the history has something to lose.
    expect(before.actions['crash-running']?.[0].history.length).toBeGreaterThanOrEqual(3);
    expect(before.actions['crash-idle']?.[0]).toMatchObject({ active: true });

    // An upload is half in, then the backend dies without a chance to clean anything up. (To a
    // module of its own: the assigned set locked its modules, whose artifacts no longer change.)
    const [spare] = await mgmt(url, 'POST', '/softwaremodules', [
      { type: 'os', name: 'crash-spare', version: '1' },
    ]);
    const half = await startHalfUpload(url, spare.id);
    await waitUntil(async () => (await filesUnder(join(dataDir, 'artifacts', 'tmp'))).length > 0);
    running.app.child.kill('SIGKILL');
    const exit = await running.app.done;
    expect(exit.signal).toBe('SIGKILL');
    half.destroy();
    running = undefined;
    // The half upload's staged file is still there until the next start sweeps it.
    expect((await filesUnder(join(dataDir, 'artifacts', 'tmp'))).length).toBe(1);

    running = await startBackend(args);
    const again = running.url;
    expect(again).toBe(url);
    const after = await snapshot(again, module.id);
    expect(after).toEqual(before);
    // Only the one committed artifact's bytes: no staged file, no orphan.
    expect(await filesUnder(join(dataDir, 'artifacts'))).toEqual([
      join('modules', String(module.id), 'f-fw.bin'),
    ]);
    const [artifact] = before.artifacts as Json[];
    const download = await fetch(
      `${again}/rest/v1/softwaremodules/${module.id}/artifacts/${artifact.id}/download`,
      { headers: { Authorization: AUTH } },
    );
    expect(
      createHash('sha256')
        .update(Buffer.from(await download.arrayBuffer()))
        .digest('hex'),
    ).toBe(artifact.hashes.sha256);

    // The devices carry on where they were and finish.
    for (const device of ['crash-running', 'crash-downloaded', 'crash-idle']) {
      const deployment = await deploymentOf(again, device);
      expect(deployment, device).toBeDefined();
      if (device === 'crash-idle') {
        const fetched = await fetch(String(deployment?.download));
        expect(Buffer.from(await fetched.arrayBuffer())).toEqual(bytes);
      }
      const closed = await ddi(
        again,
        `${device}/deploymentBase/${deployment?.actionId}/feedback`,
        feedback('closed', 'success'),
      );
      expect(closed.status, device).toBe(200);
    }
    const finished = await snapshot(again, module.id);
    expect(finished.targets.map((t: Json) => t.updateStatus)).toEqual(DEVICES.map(() => 'in_sync'));
    for (const device of DEVICES)
      expect(finished.actions[device]?.[0], device).toMatchObject({
        status: 'finished',
        active: false,
      });
    // The action that had finished before the crash did not move.
    expect(finished.actions['crash-done']).toEqual(before.actions['crash-done']);
    // Late feedback for it is refused and changes nothing.
    expect(
      (
        await ddi(
          again,
          `crash-done/deploymentBase/${done?.actionId}/feedback`,
          feedback('closed', 'failure'),
        )
      ).status,
    ).toBe(410);

    const stopped = await running.app.stop(10_000);
    running = undefined;
    expect(stopped.code).toBe(0);
  } finally {
    running?.app.child.kill('SIGKILL');
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const withServer = await postgresAvailable('the PostgreSQL crash test');

describe('kill -9 of the backend, and a start on the same state', () => {
  it('PGlite: every target, action, history entry and artifact survives; devices finish', async () => {
    await crashAndRecover('pglite');
  }, 240_000);
  it.skipIf(!withServer)(
    'PostgreSQL: every target, action, history entry and artifact survives; devices finish',
    async () => {
      await crashAndRecover('postgres');
    },
    240_000,
  );
});
