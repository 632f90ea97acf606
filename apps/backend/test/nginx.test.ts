import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AppProcess, spawnApp } from '@otaflow/cli';
import { openServerDb } from '@otaflow/store-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * deploy/nginx/otaflow.conf as shipped, with only the listen address and the two upstream
 * servers replaced, in front of two real backends on one PostgreSQL database and one Mosquitto.
 */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const CONF = fileURLToPath(new URL('../../../deploy/nginx/otaflow.conf', import.meta.url));
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path));
const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MQTT_PORT = 1883;
const AUTH = `Basic ${Buffer.from('admin:admin').toString('base64')}`;

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function postgresUp(): Promise<boolean> {
  try {
    const db = await openServerDb(ADMIN_URL);
    await db.close();
    return true;
  } catch {
    return false;
  }
}

/** Skips loudly when something is missing; under CI=true, fails. */
function require(what: string, ok: boolean): boolean {
  if (ok) return true;
  const message = `SKIPPED: the nginx deployment test needs ${what}`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n*** ${message} ***\n`);
  return false;
}

const ready =
  require('nginx (apt-get install nginx-light)', NGINX !== undefined) &&
  require(`PostgreSQL at ${ADMIN_URL}`, await postgresUp()) &&
  require(`Mosquitto on 127.0.0.1:${MQTT_PORT}`, await canConnect(MQTT_PORT));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The example config for these ports: nothing else of it changes. */
export function templated(conf: string, listen: number, upstreams: readonly number[]): string {
  let servers = 0;
  const out = conf
    .replace(/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${listen};`)
    .replace(/^(\s*)server 127\.0\.0\.1:808\d( .*)?;$/gm, (_line, indent: string, rest = '') => {
      const port = upstreams[servers++];
      return `${indent}server 127.0.0.1:${port}${rest};`;
    });
  if (servers !== upstreams.length) throw new Error(`the example has ${servers} upstream servers`);
  return out;
}

/** The sum of a metric's samples in one backend's own /metrics (not through the proxy). */
async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      if (line.includes(labels)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

describe.skipIf(!ready)('two backends behind nginx (deploy/nginx/otaflow.conf)', () => {
  const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const dbName = `otaflow_nginx_${suffix}`;
  const tenant = `nginx${suffix.replace(/_/g, '')}`;
  let dir: string;
  let proxy: string;
  let nginx: ChildProcess | undefined;
  const backends: { app: AppProcess; url: string }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otaflow-nginx-'));
    // nginx's workers run as another user when the master is root: they read from here.
    await chmod(dir, 0o755);
    const admin = await openServerDb(ADMIN_URL);
    await admin.exec(`CREATE DATABASE ${dbName}`);
    await admin.close();
    const databaseUrl = new URL(ADMIN_URL);
    databaseUrl.pathname = `/${dbName}`;
    const listen = await freePort();
    proxy = `http://127.0.0.1:${listen}`;
    const secret = randomBytes(24).toString('hex');
    const group = `otaflow-${suffix}`;
    for (const name of ['a', 'b']) {
      // The ready line shows the public URL (nginx's): each backend gets a port of its own.
      const port = await freePort();
      const app = spawnApp(
        MAIN,
        [
          '--port',
          String(port),
          '--tenant',
          tenant,
          '--database-url',
          databaseUrl.href,
          '--data-dir',
          join(dir, name),
          '--mqtt-url',
          `mqtt://127.0.0.1:${MQTT_PORT}`,
          '--mqtt-client-id',
          `otaflow-commander-${tenant}-${name}`,
          '--mqtt-share-group',
          group,
          '--public-url',
          proxy,
          '--download-secret',
          secret,
        ],
        { env: { LOG_LEVEL: 'info', AMQP_URL: undefined, STORE: undefined } },
      );
      backends.push({ app, url: `http://127.0.0.1:${port}` });
      await app.waitForLine((l) => l.includes('"msg":"ready"'), 90_000);
    }
    const conf = templated(
      await readFile(CONF, 'utf8'),
      listen,
      backends.map((b) => Number(new URL(b.url).port)),
    );
    await writeFile(join(dir, 'otaflow.conf'), conf);
    for (const temp of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
      await mkdir(join(dir, temp), { mode: 0o777 });
    await writeFile(
      join(dir, 'nginx.conf'),
      [
        process.getuid?.() === 0 ? 'user root;' : '',
        'daemon off;',
        'worker_processes 1;',
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${join(dir, 'error.log')} warn;`,
        'events { worker_connections 256; }',
        'http {',
        `  access_log ${join(dir, 'access.log')};`,
        `  client_body_temp_path ${join(dir, 'body')};`,
        `  proxy_temp_path ${join(dir, 'proxy')};`,
        `  fastcgi_temp_path ${join(dir, 'fastcgi')};`,
        `  uwsgi_temp_path ${join(dir, 'uwsgi')};`,
        `  scgi_temp_path ${join(dir, 'scgi')};`,
        `  include ${join(dir, 'otaflow.conf')};`,
        '}',
      ].join('\n'),
    );
    nginx = spawn(NGINX as string, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    nginx.stderr?.on('data', (d: Buffer) => {
      stderr += d;
    });
    await waitFor(() => canConnect(listen), 'nginx').catch((error) => {
      throw new Error(`${error}\n${stderr}`);
    });
  }, 180_000);

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx?.once('exit', resolve));
      nginx.kill('SIGQUIT');
      await exited;
    }
    for (const { app } of backends) await app.stop();
    const admin = await openServerDb(ADMIN_URL);
    await admin.exec(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const mgmt = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${proxy}/rest/v1${path}`, {
      method,
      headers: { Authorization: AUTH, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: bodies are inspected field by field
    return { status: res.status, json: (await res.json().catch(() => undefined)) as any };
  };
  const poll = async (device: string) => {
    const res = await fetch(`${proxy}/${tenant}/controller/v1/${device}`, {
      headers: { Accept: 'application/hal+json' },
    });
    // biome-ignore lint/suspicious/noExplicitAny: bodies are inspected field by field
    return { status: res.status, json: (await res.json()) as any };
  };

  it('spreads DDI polls and Management API calls over both backends, on one state', async () => {
    const before = await Promise.all(backends.map((b) => metric(b.url, 'otaflow_ddi_polls_total')));
    const devices = Array.from({ length: 6 }, (_, i) => `nginx-dev-${i}`);
    for (const device of devices) expect((await poll(device)).status).toBe(200);

    // Registered by whichever backend got the poll, seen by every one.
    for (let i = 0; i < 4; i++) {
      const list = await mgmt('GET', '/targets?limit=50');
      expect(list.status).toBe(200);
      expect(list.json.total).toBe(devices.length);
    }
    const sm = await mgmt('POST', '/softwaremodules', [{ name: 'fw', version: '1', type: 'os' }]);
    const ds = await mgmt('POST', '/distributionsets', [
      { name: 'fw', version: '1', type: 'os', modules: [{ id: sm.json[0].id }] },
    ]);
    const assigned = await mgmt('POST', `/distributionsets/${ds.json[0].id}/assignedTargets`, [
      { id: devices[0] },
    ]);
    expect(assigned.status).toBe(200);
    // Every backend's next poll of the device shows it (the poll cache hears the commit).
    for (let i = 0; i < 4; i++)
      await waitFor(
        async () => (await poll(devices[0] as string)).json._links?.deploymentBase !== undefined,
        'the assignment in a poll',
      );
    const links = (await poll(devices[0] as string)).json._links;
    // Links carry the public URL (nginx's), not a backend's own address.
    expect(links.deploymentBase.href.startsWith(`${proxy}/${tenant}/controller/v1/`)).toBe(true);

    const after = await Promise.all(backends.map((b) => metric(b.url, 'otaflow_ddi_polls_total')));
    const served = after.map((n, i) => n - (before[i] ?? 0));
    expect(served.every((n) => n > 0)).toBe(true);
    expect(served.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(devices.length + 5);
    const management = await Promise.all(
      backends.map((b) =>
        metric(b.url, 'otaflow_http_request_duration_seconds_count', 'surface="management"'),
      ),
    );
    expect(management.every((n) => n > 0)).toBe(true);
    // /metrics stays each backend's own: not served through the proxy.
    expect((await fetch(`${proxy}/metrics`)).status).toBe(404);
  });

  it('passes the event stream through unbuffered', async () => {
    const controller = new AbortController();
    const res = await fetch(`${proxy}/events`, {
      headers: { Authorization: AUTH, Accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    // The stream's first line arrives at once (`proxy_buffering off` there, and the backend's
    // `X-Accel-Buffering: no`); a buffering proxy would hold it back.
    const first = await Promise.race([
      reader.read(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('buffered')), 3000)),
    ]);
    expect(Buffer.from(first.value ?? []).toString()).toContain('retry:');
    controller.abort();
  });
});
