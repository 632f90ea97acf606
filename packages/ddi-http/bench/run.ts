/**
 * DDI server benchmark, all over loopback (127.0.0.1), bounded in requests and time:
 * - root polls/s of 10,000 distinct controllers vs a bare node:http server answering the same bytes;
 * - feedback posts/s of the same controllers vs a bare server that reads the body and answers 200;
 * - 100 MB artifact download throughput vs a bare fs.createReadStream pipe.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { MemoryUpdateStore, UpdateService } from '@otaflow/core';
import { Pool } from 'undici';
import { createDdiServer, FileArtifactSource } from '../src/index.js';

const CONTROLLERS = 10_000;
const REQUESTS = 20_000;
const CONCURRENCY = 64;
const FILE_MB = 100;
const DOWNLOAD_ROUNDS = 3;
/** Baseline and DDI alternate per round, best of each counts: the machine is shared and noisy. */
const ROUNDS = 3;
const GATEWAY = 'bench-gateway';
const SLEEP = '00:05:00';

interface Figure {
  metric: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
  goal: number | null;
}

const log = (line: string) => console.log(`[bench] ${line}`);

async function listen(handler: RequestListener) {
  const server = createServer({ keepAliveTimeout: 60_000 }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pool = new Pool(origin, {
    connections: CONCURRENCY,
    pipelining: 1,
    keepAliveTimeout: 60_000,
  });
  return {
    origin,
    pool,
    async close() {
      await pool.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Runs `count` requests with CONCURRENCY workers; returns requests per second. */
async function load(
  pool: Pool,
  count: number,
  make: (i: number) => {
    path: string;
    method: 'GET' | 'POST';
    body?: string;
    headers: Record<string, string>;
  },
  expect: number,
) {
  let next = 0;
  let failed = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < count; i = next++) {
        const req = make(i);
        const res = await pool.request({
          path: req.path,
          method: req.method,
          headers: req.headers,
          body: req.body ?? null,
        });
        await res.body.dump();
        if (res.statusCode !== expect) failed++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (failed > 0) throw new Error(`${failed} of ${count} requests did not answer ${expect}`);
  return count / seconds;
}

async function download(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  size: number,
): Promise<number> {
  const start = process.hrtime.bigint();
  const res = await pool.request({ path, method: 'GET', headers });
  let received = 0;
  for await (const chunk of res.body) received += (chunk as Buffer).length;
  if (res.statusCode !== 200 || received !== size)
    throw new Error(`download got ${res.statusCode}, ${received} bytes`);
  return size / 1e6 / (Number(process.hrtime.bigint() - start) / 1e9);
}

function figure(
  metric: string,
  unit: string,
  value: number,
  baseline: number,
  goal: number | null,
): Figure {
  const f = {
    metric,
    unit,
    value: round(value),
    baseline: round(baseline),
    ratio: Math.round((value / baseline) * 1000) / 1000,
    goal,
  };
  log(
    `${metric}: ${f.value} ${unit} vs bare ${f.baseline} ${unit} -> ratio ${f.ratio}${goal ? ` (goal >= ${goal})` : ''}`,
  );
  return f;
}

const round = (n: number) => Math.round(n * 10) / 10;
const best = (xs: number[]) => Math.max(...xs);

async function main() {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'ddi-bench-'));
  const service = new UpdateService({ store: new MemoryUpdateStore() });
  const files = new FileArtifactSource(dir);
  const ddi = createDdiServer({
    service,
    tenant: 'DEFAULT',
    artifacts: files,
    auth: { targetToken: true, gatewayToken: GATEWAY },
    autoRegister: true,
    pollingSleep: SLEEP,
  });
  const ddiServer = await listen((req, res) => {
    void ddi.handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });

  // The bare servers answer exactly the bytes the DDI server sends for an idle controller.
  let bareOrigin = '';
  const rootBody = (cid: string, origin: string) =>
    JSON.stringify({
      config: { polling: { sleep: SLEEP } },
      _links: { configData: { href: `${origin}/DEFAULT/controller/v1/${cid}/configData` } },
    });
  const filePath = join(dir, 'bare.bin');
  let bareFileSize = 0;
  const bare = await listen((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if (url === '/file') {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': bareFileSize,
      });
      createReadStream(filePath).pipe(res);
      return;
    }
    if (req.method === 'POST') {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-length': 0 }).end());
      return;
    }
    const body = rootBody(url.split('/')[4] ?? '', bareOrigin);
    res.writeHead(200, {
      'content-type': 'application/hal+json;charset=UTF-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  bareOrigin = bare.origin;

  try {
    const cid = (i: number) => `bench-${i % CONTROLLERS}`;
    const auth = { authorization: `GatewayToken ${GATEWAY}`, accept: 'application/hal+json' };
    const poll = (i: number) => ({
      path: `/DEFAULT/controller/v1/${cid(i)}`,
      method: 'GET' as const,
      headers: auth,
    });

    log(`registering ${CONTROLLERS} controllers by polling`);
    await load(ddiServer.pool, CONTROLLERS, poll, 200);
    await load(bare.pool, CONTROLLERS, poll, 200);
    const sample = await ddiServer.pool.request({
      path: poll(0).path,
      method: 'GET',
      headers: auth,
    });
    const sampleText = await sample.body.text();
    if (sampleText !== rootBody(cid(0), ddiServer.origin))
      throw new Error(`bare body differs from DDI body: ${sampleText}`);

    const polls: number[] = [];
    const barePolls: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      log(
        `root polls round ${round}: ${REQUESTS} requests over ${CONTROLLERS} controllers, ${CONCURRENCY} connections`,
      );
      barePolls.push(await load(bare.pool, REQUESTS, poll, 200));
      polls.push(await load(ddiServer.pool, REQUESTS, poll, 200));
    }

    log(`assigning an update to ${CONTROLLERS} controllers`);
    const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
    const set = await service.createDistributionSet({
      name: 'fw',
      version: '1',
      modules: [module.id],
    });
    const { actions } = await service.assign(
      set.id,
      Array.from({ length: CONTROLLERS }, (_, i) => ({ controllerId: cid(i) })),
    );
    const actionOf = new Map(actions.map((a) => [a.controllerId, a.id]));
    const feedback = JSON.stringify({
      status: { execution: 'proceeding', result: { finished: 'none' }, details: ['working'] },
    });
    const post = (i: number) => ({
      path: `/DEFAULT/controller/v1/${cid(i)}/deploymentBase/${actionOf.get(cid(i))}/feedback`,
      method: 'POST' as const,
      body: feedback,
      headers: { ...auth, 'content-type': 'application/json' },
    });
    const posts: number[] = [];
    const barePosts: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      log(`feedback posts round ${round}: ${REQUESTS} requests`);
      barePosts.push(await load(bare.pool, REQUESTS, post, 200));
      posts.push(await load(ddiServer.pool, REQUESTS, post, 200));
    }

    log(`writing a ${FILE_MB} MB artifact`);
    const chunk = createHash('sha512').update('otaflow').digest();
    const big = Buffer.alloc(FILE_MB * 1024 * 1024);
    for (let o = 0; o < big.length; o += chunk.length) chunk.copy(big, o);
    await writeFile(filePath, big);
    bareFileSize = big.length;
    const info = await files.write(module.id, 'big.bin', big);
    await service.addArtifact(module.id, {
      filename: 'big.bin',
      size: info.size,
      hashes: { sha1: info.hashes.sha1, md5: info.hashes.md5, sha256: info.hashes.sha256! },
    });
    const artifactPath = `/DEFAULT/controller/v1/${cid(0)}/softwaremodules/${module.id}/artifacts/big.bin`;
    const ddiMbps: number[] = [];
    const bareMbps: number[] = [];
    for (let round = 1; round <= DOWNLOAD_ROUNDS; round++) {
      log(`download round ${round}/${DOWNLOAD_ROUNDS}`);
      bareMbps.push(await download(bare.pool, '/file', {}, big.length));
      ddiMbps.push(await download(ddiServer.pool, artifactPath, auth, big.length));
    }

    const figures = [
      figure(
        'root polls per second (10,000 controllers)',
        'req/s',
        best(polls),
        best(barePolls),
        0.6,
      ),
      figure(
        'feedback posts per second (10,000 controllers)',
        'req/s',
        best(posts),
        best(barePosts),
        0.6,
      ),
      figure(
        `artifact download throughput (${FILE_MB} MB)`,
        'MB/s',
        best(ddiMbps),
        best(bareMbps),
        0.9,
      ),
    ];
    const result = {
      name: '@otaflow/ddi-http',
      date: new Date().toISOString(),
      machine: {
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      figures,
    };
    await writeFile(
      new URL('./result.json', import.meta.url),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log('\n| metric | value | bare baseline | ratio | goal |\n|---|---|---|---|---|');
    for (const f of figures)
      console.log(
        `| ${f.metric} | ${f.value} ${f.unit} | ${f.baseline} ${f.unit} | ${f.ratio} | ${f.goal ?? '-'} |`,
      );
    console.log(
      `\nbench took ${((Date.now() - started) / 1000).toFixed(1)} s; written bench/result.json`,
    );
  } finally {
    await ddiServer.close();
    await bare.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
