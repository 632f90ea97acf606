import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MemoryUpdateStore, type SoftwareModule, UpdateService } from '@otaflow/core';
import { type Dispatcher, request } from 'undici';
import {
  type ArtifactInfo,
  type ArtifactSource,
  type ByteRange,
  createDdiServer,
  type DdiServerOptions,
  FileArtifactSource,
} from '../src/index.js';

export const TENANT = 'DEFAULT';
export const GATEWAY = 'gw-secret-token';

/** Wraps a source to see every read, and optionally to break the first full read halfway. */
export class WatchedSource implements ArtifactSource {
  readonly reads: Array<ByteRange | undefined> = [];
  cutNextFullRead = false;
  constructor(readonly inner: FileArtifactSource) {}
  stat(moduleId: number, filename: string): Promise<ArtifactInfo | undefined> {
    return this.inner.stat(moduleId, filename);
  }
  async createReadStream(moduleId: number, filename: string, range?: ByteRange): Promise<Readable> {
    this.reads.push(range);
    if (!range && this.cutNextFullRead) {
      this.cutNextFullRead = false;
      const info = await this.inner.stat(moduleId, filename);
      const half = Math.floor((info?.size ?? 0) / 2);
      const partial = await this.inner.createReadStream(moduleId, filename, {
        start: 0,
        end: half - 1,
      });
      return Readable.from(
        (async function* () {
          for await (const chunk of partial) yield chunk;
          throw new Error('simulated connection loss');
        })(),
      );
    }
    return this.inner.createReadStream(moduleId, filename, range);
  }
}

export interface Harness {
  service: UpdateService;
  files: FileArtifactSource;
  source: WatchedSource;
  url: string;
  port: number;
  /** Lets a test answer some requests itself before the DDI handler sees them. */
  intercept: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  close(): Promise<void>;
}

export async function startHarness(overrides: Partial<DdiServerOptions> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'ddi-http-test-'));
  const store = new MemoryUpdateStore();
  const service = new UpdateService({ store });
  storeOf.set(service, store);
  const files = new FileArtifactSource(dir);
  const source = new WatchedSource(files);
  const ddi = createDdiServer({
    service,
    tenant: TENANT,
    artifacts: source,
    auth: { targetToken: true, gatewayToken: GATEWAY },
    autoRegister: true,
    pollingSleep: '00:00:01',
    maxBodyBytes: 16 * 1024,
    ...overrides,
  });
  const harness = { intercept: undefined } as Harness;
  const server: Server = createServer((req, res) => {
    if (harness.intercept?.(req, res)) return;
    ddi.handle(req, res).then((handled) => {
      if (!handled) {
        res.statusCode = 418;
        res.end('not a DDI path');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  Object.assign(harness, {
    service,
    files,
    source,
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  });
  return harness;
}

/** A software module with the given files (stored and catalogued) in a distribution set. */
export async function addRelease(
  h: Harness,
  files: Array<{ name: string; bytes: Buffer; badSha256?: boolean }>,
  version = '1.0.0',
  type = 'os',
): Promise<{ setId: number; module: SoftwareModule }> {
  const module = await h.service.createSoftwareModule({ type, name: 'firmware', version });
  for (const f of files) {
    const info = await h.files.write(module.id, f.name, f.bytes);
    const hashes = {
      sha1: info.hashes.sha1,
      md5: info.hashes.md5,
      sha256: f.badSha256 ? '0'.repeat(64) : info.hashes.sha256!,
    };
    await h.service.addArtifact(module.id, { filename: f.name, size: info.size, hashes });
  }
  const set = await h.service.createDistributionSet({
    name: 'firmware',
    version,
    modules: [module.id],
  });
  return { setId: set.id, module: (await h.service.getSoftwareModule(module.id))! };
}

/** The store each harness's service was built on, so a test can read the records themselves. */
const storeOf = new WeakMap<UpdateService, MemoryUpdateStore>();

/** Everything stored about targets and actions, to show a refused request changed nothing. */
export async function dump(service: UpdateService): Promise<string> {
  const store = storeOf.get(service);
  if (!store) throw new Error('dump needs a service made by startHarness');
  const targets = (await store.listTargets()).items;
  const out: unknown[] = [];
  for (const t of targets) out.push(t, await store.listActionsOfTarget(t.controllerId));
  return JSON.stringify(out);
}

export interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: Buffer;
}

export async function raw(
  url: string,
  init: {
    method?: Dispatcher.HttpMethod;
    headers?: Record<string, string>;
    body?: string | Buffer;
  } = {},
): Promise<Raw> {
  const res = await request(url, {
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
    body: init.body ?? null,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, text: body.toString('utf8'), body };
}

export const gw = { authorization: `GatewayToken ${GATEWAY}` };

export function randomBytesOf(size: number, seed = 1): Buffer {
  const buf = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    buf[i] = x >> 16;
  }
  return buf;
}

export function unique(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
