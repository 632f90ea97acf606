import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer, Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { type Logger, MemoryUpdateStore, UpdateService, type UpdateStore } from '@otaflow/core';
import {
  CORRELATION_REF,
  DEFAULT_FEATURE_ID,
  FEATURE_ID_ATTRIBUTE,
  MODULE_TYPE_ATTRIBUTE,
} from '../src/index.js';

export const SHARED_BROKER = { host: '127.0.0.1', port: 1883 };
export const MOSQUITTO = '/usr/sbin/mosquitto';

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/** Skips loudly when a broker is missing, fails under CI=true (house rule). */
export async function requireBroker(what: string, ok: boolean): Promise<boolean> {
  if (ok) return true;
  const message = `SKIPPED: ${what} is not available; the Mosquitto tests of @otaflow/iothub-mqtt did not run`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n*** ${message} ***\n`);
  return false;
}

export const sharedBrokerUp = await canConnect(SHARED_BROKER.port);
export const mosquittoBinary = existsSync(MOSQUITTO);

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function waitFor<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 15_000,
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A Mosquitto of our own on a free port, which a test may stop and start again. */
export class OwnBroker {
  process: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly conf: string,
  ) {}

  static async create(
    extra = '',
    options: { persistence?: boolean; maxQueued?: number; maxInflight?: number } = {},
  ): Promise<OwnBroker> {
    const dir = await mkdtemp(join(tmpdir(), 'otaflow-mosq-'));
    const port = await freePort();
    // Run as root, Mosquitto would switch to user `mosquitto`, which cannot write our temp dir.
    const lines = [
      `user ${userInfo().username}`,
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      `max_queued_messages ${options.maxQueued ?? 0}`,
      `max_inflight_messages ${options.maxInflight ?? 100}`,
    ];
    if (options.persistence)
      lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 1');
    lines.push(extra);
    const conf = join(dir, 'mosquitto.conf');
    await writeFile(conf, `${lines.join('\n')}\n`);
    const broker = new OwnBroker(port, conf);
    await broker.start();
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.process = spawn(MOSQUITTO, ['-c', this.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.process.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    await waitFor(() => canConnect(this.port), `mosquitto on ${this.port}: ${stderr}`, 10_000);
  }

  /** SIGTERM: Mosquitto writes its persistence file on the way out. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    this.process = undefined;
  }
}

export interface ServedFile {
  body: Buffer;
  status?: number;
  /** Sends the first half, then waits for this before the rest (a slow download to cancel). */
  gate?: Promise<void>;
}

/** Artifacts over plain HTTP on loopback. */
export class ArtifactServer {
  readonly files = new Map<string, ServedFile>();
  readonly requests: string[] = [];
  #server: Server;
  url = '';

  constructor() {
    this.#server = createServer(async (req, res) => {
      this.requests.push(req.url ?? '');
      const file = this.files.get(req.url ?? '');
      if (!file) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(file.status ?? 200, {
        'content-type': 'application/octet-stream',
        'content-length': file.body.length,
      });
      const half = Math.floor(file.body.length / 2);
      res.write(file.body.subarray(0, half));
      if (file.gate) await file.gate;
      res.end(file.body.subarray(half));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

export function hashesOf(body: Buffer) {
  const h = (algorithm: string) => createHash(algorithm).update(body).digest('hex');
  return { sha1: h('sha1'), md5: h('md5'), sha256: h('sha256') };
}

export function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

export interface LogLine {
  level: string;
  message: string;
  details?: Record<string, unknown> | undefined;
}

/** Core's `Logger` (pino's argument order) keeping every line, for tests that check what was logged. */
export function collectingLogger(
  lines: LogLine[] = [],
  bindings: Record<string, unknown> = {},
): Logger & { lines: LogLine[] } {
  const at =
    (level: string) =>
    (first: Record<string, unknown> | string, message?: string): void => {
      if (typeof first === 'string')
        lines.push({ level, message: first, details: { ...bindings } });
      else lines.push({ level, message: message ?? '', details: { ...bindings, ...first } });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => collectingLogger(lines, { ...bindings, ...more }),
  };
}

export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A service with one module of one artifact served by `server`, and a distribution set of it. */
export async function catalogue(
  server: ArtifactServer,
  body: Buffer,
  name = 'app',
  served?: Partial<ServedFile>,
  outbox?: { channels: readonly string[] },
) {
  const store = new MemoryUpdateStore();
  const service = new UpdateService({ store, ...(outbox ? { outbox } : {}) });
  const module = await service.createSoftwareModule({
    type: 'application',
    name,
    version: '1.2.0',
  });
  const artifact = await service.addArtifact(module.id, {
    filename: `${name}.bin`,
    size: body.length,
    hashes: hashesOf(body),
  });
  const set = await service.createDistributionSet({
    name: 'set',
    version: '1.0',
    modules: [module.id],
  });
  server.files.set(`/${module.id}/${artifact.filename}`, { body, ...served });
  return { service, store, module, artifact, set };
}

/**
 * A service whose targets `ids` each have one action of a plain distribution set, already tagged
 * with the correlation id `correlation(i)`: for tests that drive reports with bare MQTT clients.
 */
export async function assignedWithCorrelation(
  ids: readonly string[],
  correlation: (i: number) => string,
  store: UpdateStore = new MemoryUpdateStore(),
) {
  const service = new UpdateService({ store });
  const module = await service.createSoftwareModule({
    type: 'application',
    name: 'app',
    version: '1.0.0',
  });
  const set = await service.createDistributionSet({
    name: 'set',
    version: '1',
    modules: [module.id],
  });
  // Each device as if it had announced its SoftwareUpdatable feature: reports on it count.
  for (const id of ids) {
    await service.createTarget({ controllerId: id });
    await service.updateAttributes(id, {
      [FEATURE_ID_ATTRIBUTE]: DEFAULT_FEATURE_ID,
      [MODULE_TYPE_ATTRIBUTE]: 'application',
    });
  }
  const { actions } = await service.assign(
    set.id,
    ids.map((controllerId) => ({ controllerId })),
  );
  for (const [i, action] of actions.entries())
    await service.setActionRef(action.id, CORRELATION_REF, correlation(i));
  return { service, set, actions };
}
