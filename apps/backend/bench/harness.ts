/**
 * What run.ts and routers.ts share: server processes (servers.ts), the load, interleaved rounds
 * with medians, and the byte-for-byte check that a baseline answers what the server under test does.
 */
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { forkBenchChild, interleaveRounds, LoadClient, median } from '@otaflow/bench-kit';
import type { ServerKind, ServerOp } from './shared.js';

export const REQUESTS = 20_000;
export const CONCURRENCY = 64;
/** Measured rounds; more on a busy machine (BENCH_ROUNDS) narrow the median. */
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

export interface Figure {
  metric: string;
  value: number;
  unit: string;
  /** Null where the figure has no baseline of its own (an RSS, a CPU share). */
  baseline: number | null;
  ratio: number | null;
  goal: number | null;
  /** The goal is a ceiling for the ratio (a time against the baseline's). */
  ratioBelow?: boolean;
  /** The goal is a ceiling for the value itself (a latency, an RSS). */
  goalBelow?: boolean;
}

export interface Sample {
  perSecond: number;
  /** Server process CPU µs per request. */
  serverCpu: number;
  /** This (client) process's CPU µs per request, for judging whether the client was the limit. */
  clientCpu: number;
}

export interface Req {
  path: string;
  method: 'GET' | 'POST';
  body?: string;
  headers: Record<string, string>;
}

export const log = (line: string) => console.log(`[bench] ${line}`);
export const round1 = (n: number) => Math.round(n * 10) / 10;
export const round3 = (n: number) => Math.round(n * 1000) / 1000;

export interface BenchServer {
  kind: ServerKind;
  origin: string;
  load: LoadClient;
  ask<T>(op: ServerOp): Promise<T>;
  stop(): Promise<void>;
}

/** Forks servers.ts for one kind of server and waits for its origin. */
export async function startServer(kind: ServerKind): Promise<BenchServer> {
  const child = forkBenchChild<{ origin: string }, ServerOp>(
    new URL('./servers.ts', import.meta.url),
    [kind],
  );
  const { origin } = await child.ready;
  const load = new LoadClient(origin, CONCURRENCY);
  return {
    kind,
    origin,
    load,
    ask: (op) => child.ask(op),
    async stop() {
      load.close();
      await child.stop('close');
    },
  };
}

const clientCpu = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** `count` requests over CONCURRENCY connections; throughput and CPU per request on both ends. */
export async function load(
  server: BenchServer,
  count: number,
  make: (i: number) => Req,
  expect: number,
): Promise<Sample> {
  // Encoded before the clock starts, one request per sequence: any connection may take any.
  const requests = Array.from({ length: count }, (_, i) => {
    const req = make(i);
    return [server.load.request(req.method, req.path, req.headers, req.body)];
  });
  const cpu = () => server.ask<{ cpuMicros: number }>('cpu');
  const server0 = await cpu();
  const client0 = clientCpu();
  const perSecond = await server.load.drive(requests, expect);
  const client = clientCpu() - client0;
  const server1 = await cpu();
  return {
    perSecond,
    serverCpu: (server1.cpuMicros - server0.cpuMicros) / count,
    clientCpu: client / count,
  };
}

export interface Comparison {
  value: number;
  baseline: number;
  /** Median of the rounds' own ratios: each pair met the same moment of a busy machine. */
  ratio: number;
  cpu: number;
  cpuBaseline: number;
  clientCpu: number;
  clientCpuBaseline: number;
}

/** A warm-up of each side, then `rounds` measured rounds in ABBA order; the medians. */
export async function compare(
  label: string,
  rounds: number,
  bareRun: () => Promise<Sample>,
  testRun: () => Promise<Sample>,
): Promise<Comparison> {
  log(`${label}: warm-up, then ${rounds} rounds`);
  const { baseline: bare, tested: test } = await interleaveRounds(
    rounds,
    bareRun,
    testRun,
    (r, b, t) =>
      log(
        `${label} round ${r + 1}/${rounds}: bare ${round1(b.perSecond)}, tested ${round1(t.perSecond)} req/s (${round3(t.perSecond / b.perSecond)}); server CPU µs/req bare ${round1(b.serverCpu)}, tested ${round1(t.serverCpu)}`,
      ),
  );
  const pick = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
  return {
    value: pick(test, 'perSecond'),
    baseline: pick(bare, 'perSecond'),
    ratio: median(test.map((t, i) => t.perSecond / bare[i]!.perSecond)),
    cpu: pick(test, 'serverCpu'),
    cpuBaseline: pick(bare, 'serverCpu'),
    clientCpu: pick(test, 'clientCpu'),
    clientCpuBaseline: pick(bare, 'clientCpu'),
  };
}

/** A throughput figure and its server-CPU twin (inverted: 1 is "as cheap as bare"). */
export function figuresOf(metric: string, goal: number | null, m: Comparison): Figure[] {
  const f: Figure = {
    metric,
    unit: 'req/s',
    value: round1(m.value),
    baseline: round1(m.baseline),
    ratio: round3(m.ratio),
    goal,
  };
  const c: Figure = {
    metric: `server CPU, ${metric}`,
    unit: 'CPU µs/req',
    value: round1(m.cpu),
    baseline: round1(m.cpuBaseline),
    ratio: round3(m.cpuBaseline / m.cpu),
    goal: null,
  };
  log(
    `${metric}: ${f.value} req/s vs bare ${f.baseline} -> ratio ${f.ratio}${goal === null ? '' : ` (goal >= ${goal})`}; server CPU ${c.value} vs ${c.baseline} µs/req; client CPU ${round1(m.clientCpu)} vs ${round1(m.clientCpuBaseline)} µs/req`,
  );
  return [f, c];
}

/** Writes a result file in the format scripts/bench.mjs reads, and prints it as a table. */
export async function writeResult(
  file: URL,
  name: string,
  figures: Figure[],
  note?: string,
): Promise<void> {
  const result = {
    name,
    date: new Date().toISOString(),
    ...(note ? { note } : {}),
    machine: {
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    figures,
  };
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log('\n| metric | value | bare baseline | ratio | goal |\n|---|---|---|---|---|');
  for (const f of figures)
    console.log(
      `| ${f.metric} | ${f.value} ${f.unit} | ${f.baseline} ${f.unit} | ${f.ratio} | ${f.goal ?? '-'} |`,
    );
}

export interface RawAnswer {
  status: number;
  /** Name and value pairs as sent, less the ones node:http adds to every answer by itself. */
  headers: string[];
  body: string;
}

const ADDED_BY_NODE = new Set(['date', 'connection', 'keep-alive']);

/** One request over a fresh connection, with the headers exactly as the server sent them. */
export function fetchRaw(origin: string, req: Req): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const r = request(
      new URL(req.path, origin),
      { method: req.method, headers: req.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: string[] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2)
            if (!ADDED_BY_NODE.has(res.rawHeaders[i]!.toLowerCase()))
              headers.push(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          resolve({
            status: res.statusCode ?? 0,
            headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

/**
 * Throws unless both servers answer `req` alike: status, body, and header names and values in
 * order (with `loose`, names in any case and order: Hono writes them from a Headers object).
 */
export async function expectSameAnswer(
  tested: BenchServer,
  bare: BenchServer,
  req: Req,
  loose = false,
): Promise<void> {
  const [a, b] = await Promise.all([fetchRaw(tested.origin, req), fetchRaw(bare.origin, req)]);
  const norm = (x: RawAnswer) => {
    if (!loose) return JSON.stringify(x);
    const pairs: string[] = [];
    for (let i = 0; i < x.headers.length; i += 2)
      pairs.push(`${x.headers[i]!.toLowerCase()}: ${x.headers[i + 1]}`);
    return JSON.stringify({ ...x, headers: pairs.sort() });
  };
  if (norm(a) !== norm(b))
    throw new Error(
      `${bare.kind} does not answer ${req.method} ${req.path} as ${tested.kind} does:\n  ${tested.kind}: ${norm(a)}\n  ${bare.kind}: ${norm(b)}`,
    );
}
