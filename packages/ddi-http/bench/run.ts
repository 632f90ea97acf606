/**
 * DDI server benchmark, all over loopback (127.0.0.1), bounded in requests and time:
 * - root polls/s of 10,000 distinct controllers vs a bare node:http server answering the same bytes;
 * - feedback posts/s of the same controllers vs a bare server that reads the body and answers 200;
 * - 100 MB artifact download throughput vs a bare fs.createReadStream pipe.
 *
 * Both servers run in one forked process (servers.ts); this process is the client for both, with the
 * same settings: @otaflow/bench-kit's raw keep-alive LoadClient for polls and feedback, so that
 * the servers rather than the client run out of CPU (undici cost more per request than the bare
 * server, which made the baseline partly client-bound and the ratios read high), and undici for
 * the downloads, where the client only streams bytes. Rounds alternate the order (bare, DDI, DDI, bare, ...), an
 * unmeasured warm-up round of each comes first, and the median round counts. Besides requests per
 * second, the server process's CPU time per request (process.cpuUsage) is recorded for each side:
 * it hardly moves with the load other programs put on this shared machine.
 *
 * Env: BENCH_ONLY=polls,feedback,download picks phases; BENCH_SERVER_PROF=<dir> runs the server
 * process with --cpu-prof into <dir>.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { forkBenchChild, interleaveRounds, LoadClient, median } from '@otaflow/bench-kit';
import { Pool } from 'undici';
import { CONTROLLERS, cid, FILE_MB, GATEWAY, rootBody, type ServerOp } from './shared.js';

const REQUESTS = 20_000;
const CONCURRENCY = 64;
const ROUNDS = 5;
const DOWNLOAD_ROUNDS = 5;
const ONLY = new Set((process.env.BENCH_ONLY ?? 'polls,feedback,download').split(','));

interface Figure {
  metric: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
  goal: number | null;
}

interface Sample {
  perSecond: number;
  /** Server process CPU µs per request (or per MB for downloads). */
  serverCpu: number;
  /** The part of serverCpu spent in the kernel (socket writes and reads, mostly). */
  serverSys: number;
  /** This (client) process's CPU µs per request, for judging whether the client was the limit. */
  clientCpu: number;
}

const log = (line: string) => console.log(`[bench] ${line}`);
const round1 = (n: number) => Math.round(n * 10) / 10;

function startServers() {
  return forkBenchChild<{ ddi: string; bare: string }, ServerOp>(
    new URL('./servers.ts', import.meta.url),
  );
}

const newPool = (origin: string) =>
  new Pool(origin, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 60_000 });

interface Req {
  path: string;
  method: 'GET' | 'POST';
  body?: string;
  headers: Record<string, string>;
}

async function main() {
  const started = Date.now();
  const servers = startServers();
  const origins = await servers.ready;
  const ddiPool = newPool(origins.ddi);
  const barePool = newPool(origins.bare);
  const ddiLoad = new LoadClient(origins.ddi, CONCURRENCY);
  const bareLoad = new LoadClient(origins.bare, CONCURRENCY);
  const serverCpu = () => servers.ask<{ cpuMicros: number; systemMicros: number }>('cpu');
  const clientCpu = () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  };

  /** `count` requests with CONCURRENCY connections; throughput and CPU per request on both ends. */
  async function load(
    loader: LoadClient,
    count: number,
    make: (i: number) => Req,
    expect: number,
  ): Promise<Sample> {
    // Encoded before the clock starts, one request per sequence: any connection may take any.
    const requests = Array.from({ length: count }, (_, i) => {
      const req = make(i);
      return [loader.request(req.method, req.path, req.headers, req.body)];
    });
    const server0 = await serverCpu();
    const client0 = clientCpu();
    const perSecond = await loader.drive(requests, expect);
    const client = clientCpu() - client0;
    const server1 = await serverCpu();
    return {
      perSecond,
      serverCpu: (server1.cpuMicros - server0.cpuMicros) / count,
      serverSys: (server1.systemMicros - server0.systemMicros) / count,
      clientCpu: client / count,
    };
  }

  async function download(
    pool: Pool,
    path: string,
    headers: Record<string, string>,
    size: number,
  ): Promise<Sample> {
    const server0 = await serverCpu();
    const client0 = clientCpu();
    const start = process.hrtime.bigint();
    const res = await pool.request({ path, method: 'GET', headers });
    let received = 0;
    for await (const chunk of res.body) received += (chunk as Buffer).length;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const client = clientCpu() - client0;
    const server1 = await serverCpu();
    if (res.statusCode !== 200 || received !== size)
      throw new Error(`download got ${res.statusCode}, ${received} bytes`);
    const mb = size / 1e6;
    return {
      perSecond: mb / seconds,
      serverCpu: (server1.cpuMicros - server0.cpuMicros) / mb,
      serverSys: (server1.systemMicros - server0.systemMicros) / mb,
      clientCpu: client / mb,
    };
  }

  /** Warm-up of each side, then ROUNDS measured rounds in ABBA order; the medians. */
  async function compare(
    label: string,
    rounds: number,
    bareRun: () => Promise<Sample>,
    ddiRun: () => Promise<Sample>,
  ) {
    log(`${label}: warm-up, then ${rounds} rounds`);
    const { baseline: bare, tested: ddi } = await interleaveRounds(
      rounds,
      bareRun,
      ddiRun,
      (r, b, d) =>
        log(
          `${label} round ${r + 1}/${rounds}: bare ${round1(b.perSecond)}, ddi ${round1(d.perSecond)}; server CPU µs bare ${round1(b.serverCpu)} (sys ${round1(b.serverSys)}), ddi ${round1(d.serverCpu)} (sys ${round1(d.serverSys)})`,
        ),
    );
    const pick = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
    return {
      value: pick(ddi, 'perSecond'),
      baseline: pick(bare, 'perSecond'),
      cpu: pick(ddi, 'serverCpu'),
      cpuBaseline: pick(bare, 'serverCpu'),
      clientCpu: pick(ddi, 'clientCpu'),
      clientCpuBaseline: pick(bare, 'clientCpu'),
    };
  }

  const figures: Figure[] = [];
  const cpuFigures: Figure[] = [];
  function record(
    metric: string,
    unit: string,
    cpuUnit: string,
    goal: number,
    m: Awaited<ReturnType<typeof compare>>,
  ) {
    const f: Figure = {
      metric,
      unit,
      value: round1(m.value),
      baseline: round1(m.baseline),
      ratio: Math.round((m.value / m.baseline) * 1000) / 1000,
      goal,
    };
    // Inverted so that, as for throughput, a ratio of 1 is "as cheap as bare" and less is worse.
    const c: Figure = {
      metric: `server CPU, ${metric}`,
      unit: cpuUnit,
      value: round1(m.cpu),
      baseline: round1(m.cpuBaseline),
      ratio: Math.round((m.cpuBaseline / m.cpu) * 1000) / 1000,
      goal: null,
    };
    figures.push(f);
    cpuFigures.push(c);
    log(
      `${metric}: ${f.value} ${unit} vs bare ${f.baseline} -> ratio ${f.ratio} (goal >= ${goal}); server CPU ${c.value} vs ${c.baseline} ${cpuUnit}; client CPU ${round1(m.clientCpu)} vs ${round1(m.clientCpuBaseline)} ${cpuUnit}`,
    );
  }

  try {
    const auth = { authorization: `GatewayToken ${GATEWAY}`, accept: 'application/hal+json' };
    const poll = (i: number): Req => ({
      path: `/DEFAULT/controller/v1/${cid(i)}`,
      method: 'GET',
      headers: auth,
    });

    log(`registering ${CONTROLLERS} controllers by polling`);
    await load(ddiLoad, CONTROLLERS, poll, 200);
    for (const [pool, origin] of [
      [ddiPool, origins.ddi],
      [barePool, origins.bare],
    ] as const) {
      const res = await pool.request({ path: poll(0).path, method: 'GET', headers: auth });
      const text = await res.body.text();
      if (text !== rootBody(cid(0), origin)) throw new Error(`unexpected root body: ${text}`);
    }

    if (ONLY.has('polls')) {
      log(`root polls: ${REQUESTS} requests a round over ${CONTROLLERS} controllers`);
      const m = await compare(
        'root polls',
        ROUNDS,
        () => load(bareLoad, REQUESTS, poll, 200),
        () => load(ddiLoad, REQUESTS, poll, 200),
      );
      record('root polls per second (10,000 controllers)', 'req/s', 'CPU µs/req', 0.6, m);
    }

    log(`assigning an update to ${CONTROLLERS} controllers`);
    const { actions } = await servers.ask<{ actions: [string, number][] }>('assign');
    const actionOf = new Map(actions);
    const feedback = JSON.stringify({
      status: { execution: 'proceeding', result: { finished: 'none' }, details: ['working'] },
    });
    const postHeaders = { ...auth, 'content-type': 'application/json' };
    const post = (i: number): Req => ({
      path: `/DEFAULT/controller/v1/${cid(i)}/deploymentBase/${actionOf.get(cid(i))}/feedback`,
      method: 'POST',
      body: feedback,
      headers: postHeaders,
    });
    if (ONLY.has('feedback')) {
      log(`feedback posts: ${REQUESTS} requests a round`);
      const m = await compare(
        'feedback posts',
        ROUNDS,
        () => load(bareLoad, REQUESTS, post, 200),
        () => load(ddiLoad, REQUESTS, post, 200),
      );
      record('feedback posts per second (10,000 controllers)', 'req/s', 'CPU µs/req', 0.6, m);
    }

    if (ONLY.has('download')) {
      log(`writing a ${FILE_MB} MB artifact`);
      const { moduleId, size } = await servers.ask<{ moduleId: number; size: number }>('artifact');
      const path = `/DEFAULT/controller/v1/${cid(0)}/softwaremodules/${moduleId}/artifacts/big.bin`;
      const m = await compare(
        'download',
        DOWNLOAD_ROUNDS,
        () => download(barePool, '/file', {}, size),
        () => download(ddiPool, path, auth, size),
      );
      record(`artifact download throughput (${FILE_MB} MB)`, 'MB/s', 'CPU µs/MB', 0.9, m);
    }

    const all = [...figures, ...cpuFigures];
    const result = {
      name: '@otaflow/ddi-http',
      date: new Date().toISOString(),
      machine: {
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      figures: all,
    };
    await writeFile(
      new URL('./result.json', import.meta.url),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log('\n| metric | value | bare baseline | ratio | goal |\n|---|---|---|---|---|');
    for (const f of all)
      console.log(
        `| ${f.metric} | ${f.value} ${f.unit} | ${f.baseline} ${f.unit} | ${f.ratio} | ${f.goal ?? '-'} |`,
      );
    console.log(
      `\nmedian of ${ROUNDS} rounds (downloads ${DOWNLOAD_ROUNDS}); server CPU ratio = bare/ddi. bench took ${((Date.now() - started) / 1000).toFixed(1)} s; written bench/result.json`,
    );
  } finally {
    ddiLoad.close();
    bareLoad.close();
    await ddiPool.close();
    await barePool.close();
    await servers.stop('close');
  }
}

await main();
