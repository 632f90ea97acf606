// A lean DDI fleet in one process: every device polls on its own timer, follows the hrefs the
// server gives it, downloads the artifact and reports proceeding/download/downloaded/closed.
// It exists to put load on a server, so it keeps no more per device than an id and a few flags.
import { Pool } from 'undici';
import { LatencyRecorder } from './latency.js';
import { type BlastResult, DdiSimConfig, type SimCommand, type SimWindow } from './protocol.js';
import { serveSimCommands } from './simChild.js';

interface Device {
  id: string;
  pollPath: string;
  timer: NodeJS.Timeout | undefined;
  busy: boolean;
  registered: boolean;
  /** Action ids this device finished, so a stale deploymentBase link is not run twice. */
  done: Set<string>;
}

let config: ReturnType<typeof DdiSimConfig.parse> | undefined;
let pool: Pool | undefined;
let origin = '';
const devices: Device[] = [];
let paused = false;
let stopped = false;
let registered = 0;
let completed = 0;
let requests = 0;
let reports = 0;
let errors = 0;
let windowStart = performance.now();
let windowRequests = 0;
let windowReports = 0;
let windowErrors = 0;
let windowCompleted = 0;
const lastErrors: string[] = [];
const latency = {
  poll: new LatencyRecorder(),
  deploymentBase: new LatencyRecorder(),
  download: new LatencyRecorder(),
  feedback: new LatencyRecorder(),
};

function noteError(what: string): void {
  errors++;
  windowErrors++;
  lastErrors.push(what);
  if (lastErrors.length > 10) lastErrors.shift();
}

/** One request on the shared keep-alive pool, timed from send to the last body byte. */
async function call(
  kind: keyof typeof latency,
  method: 'GET' | 'POST',
  path: string,
  body?: string,
): Promise<{ status: number; text: string; bytes: number }> {
  const p = pool as Pool;
  const started = performance.now();
  const res = await p.request({
    method,
    path,
    headers: body
      ? { 'content-type': 'application/json', accept: 'application/hal+json' }
      : { accept: 'application/hal+json' },
    ...(body ? { body } : {}),
  });
  let text = '';
  let bytes = 0;
  if (kind === 'download') {
    for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  } else {
    text = await res.body.text();
    bytes = text.length;
  }
  latency[kind].add(performance.now() - started);
  requests++;
  windowRequests++;
  return { status: res.statusCode, text, bytes };
}

const pathOf = (href: string) => {
  const u = new URL(href);
  if (u.origin !== origin) throw new Error(`href leaves the server: ${href}`);
  return `${u.pathname}${u.search}`;
};

function schedule(device: Device, first = false): void {
  if (stopped) return;
  const c = config as NonNullable<typeof config>;
  const wait = first
    ? Math.random() * c.pollMs
    : c.pollMs * (1 - c.jitter + 2 * c.jitter * Math.random());
  device.timer = setTimeout(() => void cycle(device), wait);
}

async function feedback(
  basePath: string,
  actionId: string,
  execution: string,
  finished: string,
): Promise<boolean> {
  const body = JSON.stringify({
    id: actionId,
    status: { execution, result: { finished }, details: [`fleet-bench: ${execution}`] },
  });
  const res = await call('feedback', 'POST', `${basePath}/feedback`, body);
  reports++;
  windowReports++;
  if (res.status !== 200) {
    noteError(`feedback ${execution}: HTTP ${res.status} ${res.text.slice(0, 120)}`);
    return false;
  }
  return true;
}

async function runDeployment(device: Device, href: string): Promise<void> {
  const path = pathOf(href);
  const basePath = path.split('?')[0] as string;
  const actionId = basePath.slice(basePath.lastIndexOf('/') + 1);
  if (device.done.has(actionId)) return;
  const base = await call('deploymentBase', 'GET', path);
  if (base.status !== 200) return noteError(`deploymentBase: HTTP ${base.status}`);
  const deployment = JSON.parse(base.text) as {
    deployment: {
      chunks: { artifacts: { size: number; _links: Record<string, { href: string }> }[] }[];
    };
  };
  if (!(await feedback(basePath, actionId, 'proceeding', 'none'))) return;
  if (!(await feedback(basePath, actionId, 'download', 'none'))) return;
  for (const chunk of deployment.deployment.chunks)
    for (const artifact of chunk.artifacts) {
      const link = artifact._links['download-http'] ?? artifact._links.download;
      if (!link) return noteError('artifact without a download link');
      const got = await call('download', 'GET', pathOf(link.href));
      if (got.status !== 200 || got.bytes !== artifact.size)
        return noteError(`download: HTTP ${got.status}, ${got.bytes}/${artifact.size} bytes`);
    }
  if (!(await feedback(basePath, actionId, 'downloaded', 'none'))) return;
  if (!(await feedback(basePath, actionId, 'closed', 'success'))) return;
  device.done.add(actionId);
  completed++;
  windowCompleted++;
}

async function cycle(device: Device): Promise<void> {
  device.timer = undefined;
  if (stopped) return;
  if (paused || device.busy) return schedule(device);
  device.busy = true;
  try {
    const res = await call('poll', 'GET', device.pollPath);
    if (res.status !== 200) noteError(`poll: HTTP ${res.status}`);
    else {
      if (!device.registered) {
        device.registered = true;
        registered++;
      }
      const base = (JSON.parse(res.text) as { _links?: Record<string, { href: string }> })._links
        ?.deploymentBase;
      if (base) await runDeployment(device, base.href);
    }
  } catch (error) {
    noteError(`${device.id}: ${(error as Error).message}`);
  } finally {
    device.busy = false;
    schedule(device);
  }
}

/** Polls as fast as `connections` closed loops can, over the fleet's ids, for `seconds`. */
async function blast(seconds: number, connections: number, target = origin): Promise<BlastResult> {
  const rec = new LatencyRecorder();
  const blastPool = new Pool(target, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  let n = 0;
  let failed = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  const ids = devices.length ? devices : [];
  await Promise.all(
    Array.from({ length: connections }, async (_, worker) => {
      for (let i = worker; performance.now() < until; i += connections) {
        const device = ids[i % Math.max(1, ids.length)];
        if (!device) return;
        const t = performance.now();
        try {
          const res = await blastPool.request({ method: 'GET', path: device.pollPath });
          await res.body.text();
          if (res.statusCode !== 200) failed++;
        } catch {
          failed++;
        }
        rec.add(performance.now() - t);
        n++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await blastPool.close();
  return {
    seconds: elapsed,
    requests: n,
    errors: failed,
    perSecond: n / elapsed,
    latency: rec.summary(),
  };
}

function takeWindow(): SimWindow {
  const now = performance.now();
  const out: SimWindow = {
    seconds: (now - windowStart) / 1000,
    requests: windowRequests,
    reports: windowReports,
    errors: windowErrors,
    completed: windowCompleted,
    latency: Object.fromEntries(Object.entries(latency).map(([k, r]) => [k, r.summary()])),
    lastErrors: [...lastErrors],
  };
  windowStart = now;
  windowRequests = windowReports = windowErrors = windowCompleted = 0;
  for (const r of Object.values(latency)) r.reset();
  return out;
}

const server = serveSimCommands(
  async (cmd: SimCommand) => {
    switch (cmd.cmd) {
      case 'start': {
        const c = DdiSimConfig.parse(cmd.config);
        config = c;
        origin = new URL(c.baseUrl).origin;
        pool = new Pool(origin, {
          connections: c.connections,
          pipelining: 1,
          keepAliveTimeout: 30_000,
        });
        server.setDeadline(c.maxRunMs);
        const prefix = `${new URL(c.baseUrl).pathname.replace(/\/+$/, '')}/${encodeURIComponent(c.tenant)}/controller/v1/`;
        for (let i = 0; i < c.count; i++) {
          const id = `${c.prefix}${String(i).padStart(5, '0')}`;
          const device: Device = {
            id,
            pollPath: `${prefix}${encodeURIComponent(id)}`,
            timer: undefined,
            busy: false,
            registered: false,
            done: new Set(),
          };
          devices.push(device);
          schedule(device, true);
        }
        windowStart = performance.now();
        return undefined;
      }
      case 'window':
        return takeWindow();
      case 'pause':
        paused = true;
        return undefined;
      case 'resume':
        paused = false;
        return undefined;
      case 'blast':
        return blast(cmd.seconds ?? 5, cmd.connections ?? 64, cmd.origin ?? origin);
      default:
        return undefined;
    }
  },
  () => ({ registered, completed, requests, reports, errors }),
  async () => {
    stopped = true;
    for (const d of devices) clearTimeout(d.timer);
    await pool?.close().catch(() => {});
  },
);
