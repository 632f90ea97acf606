/**
 * A fleet at scale on PostgreSQL, through two backend processes:
 * 1. BENCH_SCALE_TARGETS targets (1,000,000) are created through the Management API in bulk
 *    requests (`POST /rest/v1/targets` with BENCH_SCALE_BATCH targets each), against a raw
 *    multi-row INSERT of a tenth as many rows of the same shape;
 * 2. every target polls once (its first poll registers it: UNKNOWN -> REGISTERED, a write), as a
 *    fleet does once after it was created, closed-loop over both backends;
 * 3. steady polling: root polls (`GET /DEFAULT/controller/v1/{id}` with the target's TargetToken)
 *    of uniformly random targets at BENCH_SCALE_RATE polls/s (3,300: a million targets on a
 *    5-minute interval), open-loop (latency from when a poll was due, queueing included), split
 *    evenly over the two backends, for BENCH_SCALE_SECONDS (60). Per backend: polls/s, p50, p99,
 *    max, RSS peak (VmHWM), CPU.
 * Baselines at the same rate in the same script: a bare node:http server answering the same bytes,
 * and a raw postgres.js client reading the same rows a poll of an uncached target reads.
 *
 * Each backend is the `otaflow-backend` command (src/main.ts) in a process of its own; the
 * database is a scratch one created and dropped on DATABASE_URL's server (local default).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forkBenchChild, LoadClient, OpenLoadClient, percentile } from '@otaflow/bench-kit';
import postgres from 'postgres';
import { type Figure, writeResult } from './harness.js';
import { PUBLIC_URL, rootAnswer, type ServerOp, TENANT } from './shared.js';

const TARGETS = Number(process.env.BENCH_SCALE_TARGETS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_SCALE_BATCH ?? 2000);
const RATE = Number(process.env.BENCH_SCALE_RATE ?? 3300);
const SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 60);
const REUSE = process.env.BENCH_SCALE_REUSE;
const KEEP = process.env.BENCH_SCALE_KEEP !== undefined || REUSE !== undefined;
const REGISTER = Number(process.env.BENCH_SCALE_REGISTER ?? 20_000);
const BASELINE_SECONDS = Number(process.env.BENCH_SCALE_BASELINE_SECONDS ?? 20);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AUTH = `Basic ${Buffer.from('admin:admin').toString('base64')}`;

const log = (line: string) => console.log(`[scale] ${line}`);
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const id = (i: number) => `scale-${String(i).padStart(7, '0')}`;
/** 32 hex characters, as hawkBit generates security tokens; derived so nothing is kept. */
const token = (i: number) => createHash('md5').update(id(i)).digest('hex');
/** Deterministic uniform picks, so that every run polls the same targets. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** The process's CPU time in ms (utime + stime, /proc ticks at 100 Hz) and its RSS figures. */
async function procStats(pid: number) {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return {
    cpuMs: (Number(stat[11]) + Number(stat[12])) * 10,
    rssMiB: kb('VmRSS') / 1024,
    hwmMiB: kb('VmHWM') / 1024,
  };
}

/** Busy and total jiffies of the whole machine (every process, PostgreSQL's too). */
async function machineCpu() {
  const [, ...f] = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/);
  const n = f.map(Number);
  const idle = n[3]! + n[4]!;
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

const loadavg = async () => (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3);

interface Backend {
  name: string;
  origin: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** One `otaflow-backend` process on the database, ready once /readyz answers 200. */
async function startBackend(name: string, databaseUrl: string, dataDir: string): Promise<Backend> {
  const port = await freePort();
  const main = new URL('../src/main.ts', import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    [
      '--conditions=@otaflow/source',
      '--import',
      'tsx',
      ...(process.env.BENCH_SERVER_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROF}`]
        : []),
      main,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--tenant',
      TENANT,
      '--database-url',
      databaseUrl,
      '--data-dir',
      join(dataDir, name),
      '--public-url',
      PUBLIC_URL,
      '--target-token-auth',
      '--ddi-registration-rate',
      '0',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const origin = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null) throw new Error(`backend ${name} exited at start`);
    const ok = await fetch(`${origin}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (tries > 600) throw new Error(`backend ${name} not ready after a minute`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name,
    origin,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Latency {
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  failed: number;
}

const latencyOf = (r: {
  perSecond: number;
  latenciesMs: Float64Array;
  failed: number;
}): Latency => ({
  perSecond: r.perSecond,
  p50: percentile(r.latenciesMs, 0.5),
  p99: percentile(r.latenciesMs, 0.99),
  max: percentile(r.latenciesMs, 1),
  failed: r.failed,
});

const fmt = (l: Latency) =>
  `${round(l.perSecond)} /s, p50 ${round(l.p50, 2)} ms, p99 ${round(l.p99, 2)} ms, max ${round(l.max, 1)} ms${l.failed ? `, ${l.failed} failed` : ''}`;

/** Open-loop calls of `work` at `rate` for `seconds`, latency from when each was due. */
async function openLoop(
  rate: number,
  seconds: number,
  work: (i: number) => Promise<unknown>,
): Promise<Latency> {
  const total = Math.round(rate * seconds);
  const latencies = new Float64Array(total);
  const pending: Promise<void>[] = [];
  const started = performance.now();
  let last = started;
  let failed = 0;
  for (let issued = 0; issued < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    for (; issued < due; issued++) {
      const at = started + (issued * 1000) / rate;
      const i = issued;
      pending.push(
        work(i).then(
          () => {
            last = performance.now();
            latencies[i] = last - at;
          },
          () => {
            failed++;
            latencies[i] = Number.NaN;
          },
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const ok = latencies.filter((x) => !Number.isNaN(x)).sort();
  return latencyOf({
    perSecond: ok.length / ((last - started) / 1000),
    latenciesMs: ok,
    failed,
  });
}

export async function benchScale(): Promise<void> {
  const started = Date.now();
  const loadBefore = await loadavg();
  log(`load average before: ${loadBefore.join(' ')}`);
  const name = REUSE ?? `otaflow_scale_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  if (!REUSE) {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name}`);
    await admin.unsafe(`CREATE DATABASE ${name}`);
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.href;
  const dataDir = await mkdtemp(join(tmpdir(), 'otaflow-scale-'));
  const backends: Backend[] = [];
  const sql = postgres(databaseUrl, { max: 10, onnotice: () => {} });
  try {
    // The first backend migrates the database; the second starts on it once it is ready.
    backends.push(await startBackend('a', databaseUrl, dataDir));
    backends.push(await startBackend('b', databaseUrl, dataDir));
    log(`two backends on ${name}: ${backends.map((b) => b.origin).join(', ')}`);

    let createS = 1;
    let rawCount = 0;
    let rawS = 1;
    let registered = 0;
    let registerS = 1;
    let size: { heap: string; toast: string; indexes: string; rows: string } | undefined;
    const perTarget = (bytes: string) => Number(bytes) / Number(size?.rows ?? 1);
    const poll = (client: { request: LoadClient['request'] }, i: number) =>
      client.request('GET', `/${TENANT}/controller/v1/${id(i)}`, {
        accept: 'application/hal+json',
        authorization: `TargetToken ${token(i)}`,
      });
    // BENCH_SCALE_REUSE: a database a run with BENCH_SCALE_KEEP left, fleet created and
    // registered; only the steady polls run (for profiling), and no result is written.
    if (!REUSE) {
      // ---- 1. the fleet, in bulk requests, one in flight per backend
      let next = 0;
      let created = 0;
      let shown = 0;
      const t0 = performance.now();
      await Promise.all(
        backends.map(async (backend) => {
          for (let from = next; from < TARGETS; from = next) {
            next = Math.min(TARGETS, from + BATCH);
            const body = [];
            for (let i = from; i < next; i++)
              body.push({ controllerId: id(i), securityToken: token(i) });
            const res = await fetch(`${backend.origin}/rest/v1/targets`, {
              method: 'POST',
              headers: { authorization: AUTH, 'content-type': 'application/json' },
              body: JSON.stringify(body),
            });
            if (res.status !== 201)
              throw new Error(`create answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
            await res.arrayBuffer();
            created += body.length;
            if (created - shown >= TARGETS / 20 || created === TARGETS) {
              shown = created;
              const s = (performance.now() - t0) / 1000;
              log(
                `created ${created.toLocaleString('en')} targets, ${round(s)} s, ${Math.round(created / s)}/s`,
              );
            }
          }
        }),
      );
      createS = (performance.now() - t0) / 1000;

      // The raw client: a tenth as many rows of the same shape in statements of the same size.
      const [template] = await sql<{ record: Record<string, unknown> }[]>`
        SELECT record FROM targets WHERE tenant = ${TENANT} LIMIT 1`;
      rawCount = Math.max(BATCH, Math.round(TARGETS / 10));
      const t1 = performance.now();
      for (let from = 0; from < rawCount; from += BATCH) {
        const rows = [];
        for (let i = from; i < Math.min(rawCount, from + BATCH); i++)
          rows.push({
            controller_id: id(i),
            name: id(i),
            record: {
              ...template!.record,
              controllerId: id(i),
              name: id(i),
              securityToken: token(i),
            },
          });
        await sql.unsafe(
          `INSERT INTO targets (tenant, controller_id, version, name, update_status, created_at, last_modified_at, record)
           SELECT 'raw', controller_id, 0, name, 'UNKNOWN', now(), now(), record
             FROM jsonb_to_recordset($1::text::jsonb) AS t(controller_id text, name text, record jsonb)`,
          [JSON.stringify(rows)],
        );
      }
      rawS = (performance.now() - t1) / 1000;
      await sql`DELETE FROM targets WHERE tenant = 'raw'`;
      await sql`VACUUM ANALYZE targets`;
      log(
        `${TARGETS} targets created in ${round(createS)} s (${Math.round(TARGETS / createS)}/s); raw INSERT ${Math.round(rawCount / rawS)}/s`,
      );
      [size] = await sql<{ heap: string; toast: string; indexes: string; rows: string }[]>`
        SELECT pg_relation_size('targets') AS heap,
               pg_total_relation_size('targets') - pg_relation_size('targets') - pg_indexes_size('targets') AS toast,
               pg_indexes_size('targets') AS indexes,
               (SELECT count(*) FROM targets) AS rows`;
      log(
        `targets table: heap ${round(perTarget(size!.heap))} B/target, TOAST ${round(perTarget(size!.toast))}, indexes ${round(perTarget(size!.indexes))}`,
      );

      // ---- 2. first polls register targets (UNKNOWN -> REGISTERED, a versioned write each).
      // REGISTER of them poll for real; the rest get the same write by one UPDATE, modelled on a
      // real first poll's record and checked against it, so that the steady polls below meet a
      // fleet that has polled before, as a 5-minute fleet has (a million first polls through the
      // DDI would take most of an hour on this machine and measure registration, not polling).
      registered = Math.min(TARGETS, REGISTER);
      const t2 = performance.now();
      const firstPolls = backends.map((b) => new LoadClient(b.origin, 32));
      await Promise.all(
        firstPolls.map((client, k) => {
          const sequences: Buffer[][] = [];
          for (let i = k; i < registered; i += backends.length) sequences.push([poll(client, i)]);
          return client.drive(sequences, 200);
        }),
      );
      for (const c of firstPolls) c.close();
      registerS = (performance.now() - t2) / 1000;
      log(
        `first polls: ${registered} in ${round(registerS)} s (${Math.round(registered / registerS)}/s)`,
      );
      const [real] = await sql<{ record: Record<string, any>; ip: string }[]>`
        SELECT record, ip_address AS ip FROM targets WHERE tenant = ${TENANT} AND controller_id = ${id(0)}`;
      if (real!.record.state.value !== 'registered')
        throw new Error('the first poll did not register');
      const t4 = performance.now();
      await sql.unsafe(
        `UPDATE targets
            SET version = version + 1, update_status = 'REGISTERED', ip_address = $2,
                record = jsonb_set(jsonb_set(jsonb_set(record, '{version}', to_jsonb(version + 1)),
                                             '{state,value}', '"registered"'),
                                   '{state,context,lastContactAt}', to_jsonb($3::bigint))
                         || jsonb_build_object('channel', $4::text, 'address', $5::text)
          WHERE tenant = $1 AND update_status = 'UNKNOWN'`,
        [TENANT, real!.ip, Date.now(), real!.record.channel, real!.record.address],
      );
      const [copy] = await sql<{ record: Record<string, any> }[]>`
        SELECT record FROM targets WHERE tenant = ${TENANT} AND controller_id = ${id(TARGETS - 1)}`;
      const shape = (r: Record<string, any>) =>
        JSON.stringify({
          ...r,
          controllerId: 0,
          name: 0,
          securityToken: 0,
          state: { ...r.state, context: Object.keys(r.state.context) },
        });
      if (TARGETS > registered && shape(copy!.record) !== shape(real!.record))
        throw new Error(
          `registered by UPDATE otherwise:\n${shape(copy!.record)}\n${shape(real!.record)}`,
        );
      await sql`VACUUM ANALYZE targets`;
      log(
        `the other ${TARGETS - registered} registered by one UPDATE in ${round((performance.now() - t4) / 1000)} s`,
      );
    }

    // ---- 3. steady polling, open-loop over both backends
    const loads = backends.map((b) => new OpenLoadClient(b.origin, 512));
    const pick = random(42);
    const picks = loads.map(() => [] as number[]);
    const perBackend = Math.round((RATE / backends.length) * SECONDS);
    for (const list of picks)
      for (let n = 0; n < perBackend; n++) list.push(Math.floor(pick() * TARGETS));
    // A few seconds of warm-up so that both are past their start (JIT, pools) when measured.
    await Promise.all(
      loads.map((client, k) =>
        client.run(RATE / backends.length, 3, (n) => poll(client, picks[k]![n]!)),
      ),
    );
    const before = await Promise.all(backends.map((b) => procStats(b.process.pid!)));
    const machine0 = await machineCpu();
    const rssPeak = backends.map(() => 0);
    const sampler = setInterval(() => {
      backends.forEach((b, k) => {
        void procStats(b.process.pid!).then(
          (s) => {
            rssPeak[k] = Math.max(rssPeak[k]!, s.rssMiB);
          },
          () => {},
        );
      });
    }, 1000);
    const t3 = performance.now();
    const results = await Promise.all(
      loads.map((client, k) =>
        client.run(RATE / backends.length, SECONDS, (n) => poll(client, picks[k]![n]!)),
      ),
    );
    const windowS = (performance.now() - t3) / 1000;
    clearInterval(sampler);
    const after = await Promise.all(backends.map((b) => procStats(b.process.pid!)));
    const machine1 = await machineCpu();
    const machineBusy = (machine1.busy - machine0.busy) / (machine1.total - machine0.total);
    for (const c of loads) c.close();
    const measured = results.map(latencyOf);
    results.forEach((r, k) => {
      if (r.firstFailure) log(`backend ${backends[k]!.name}: first failure: ${r.firstFailure}`);
    });
    backends.forEach((b, k) => {
      log(
        `backend ${b.name}: ${fmt(measured[k]!)}; RSS peak ${round(after[k]!.hwmMiB)} MiB; CPU ${round((after[k]!.cpuMs - before[k]!.cpuMs) / 10 / windowS)} %`,
      );
    });
    log(`machine CPU busy during the window: ${round(machineBusy * 100)} % of all cores`);

    // ---- baselines at the same rate
    const bare = forkBenchChild<{ origin: string }, ServerOp>(
      new URL('./servers.ts', import.meta.url),
      ['bare'],
    );
    const { origin } = await bare.ready;
    const bareLoad = new OpenLoadClient(origin, 512);
    const sample = Math.floor(pick() * TARGETS);
    const bareAnswer = await fetch(`${origin}/${TENANT}/controller/v1/${id(sample)}`).then((r) =>
      r.text(),
    );
    const backendAnswer = await fetch(
      `${backends[0]!.origin}/${TENANT}/controller/v1/${id(sample)}`,
      {
        headers: { authorization: `TargetToken ${token(sample)}` },
      },
    ).then((r) => r.text());
    if (bareAnswer !== backendAnswer || bareAnswer !== rootAnswer(id(sample)).body)
      throw new Error(`the bare server answers otherwise:\n${bareAnswer}\n${backendAnswer}`);
    const bareResult = latencyOf(
      await bareLoad.run(RATE, BASELINE_SECONDS, (n) => poll(bareLoad, picks[n % 2]![n >> 1]!)),
    );
    bareLoad.close();
    await bare.stop('close');
    log(`bare node:http: ${fmt(bareResult)}`);
    // What a poll of an uncached target reads: the target, then its actions.
    const rawDb = postgres(databaseUrl, { max: 10, prepare: true, onnotice: () => {} });
    const rawResult = await openLoop(RATE, BASELINE_SECONDS, async (n) => {
      const cid = id(picks[n % 2]![n >> 1]!);
      await rawDb`SELECT record FROM targets WHERE tenant = ${TENANT} AND controller_id = ${cid}`;
      await rawDb`SELECT id, state FROM actions WHERE tenant = ${TENANT} AND controller_id = ${cid} ORDER BY id`;
    });
    await rawDb.end();
    log(`raw postgres.js reads: ${fmt(rawResult)}`);

    const loadAfter = await loadavg();
    log(`load average after: ${loadAfter.join(' ')}`);
    const k = `${(TARGETS / 1e6).toLocaleString('en')}M`;
    const figures: Figure[] = [
      {
        metric: `create ${TARGETS.toLocaleString('en')} targets via POST /rest/v1/targets (${BATCH} a request, two backends) vs raw INSERT`,
        value: Math.round(TARGETS / createS),
        unit: 'targets/s',
        baseline: Math.round(rawCount / rawS),
        ratio: round(TARGETS / createS / (rawCount / rawS), 3),
        goal: null,
      },
      {
        metric: `first polls of ${registered.toLocaleString('en')} targets (registration, a write each), two backends, closed-loop`,
        value: Math.round(registered / registerS),
        unit: 'polls/s',
        baseline: null,
        ratio: null,
        goal: null,
      },
      ...backends.flatMap((b, i) => {
        const m = measured[i]!;
        const cpu = (after[i]!.cpuMs - before[i]!.cpuMs) / 10 / windowS;
        const tag = `${k} targets, ${RATE} polls/s open-loop over two backends: backend ${b.name}`;
        return [
          {
            metric: `${tag}, polls/s`,
            value: round(m.perSecond),
            unit: 'polls/s',
            baseline: round(bareResult.perSecond / 2),
            ratio: round(m.perSecond / (bareResult.perSecond / 2), 3),
            goal: round((RATE / backends.length) * 0.99),
          },
          {
            metric: `${tag}, poll p50 vs bare node:http`,
            value: round(m.p50, 2),
            unit: 'ms',
            baseline: round(bareResult.p50, 2),
            ratio: round(m.p50 / bareResult.p50, 2),
            goal: null,
          },
          {
            metric: `${tag}, poll p99 vs bare node:http`,
            value: round(m.p99, 2),
            unit: 'ms',
            baseline: round(bareResult.p99, 2),
            ratio: round(m.p99 / bareResult.p99, 2),
            goal: 100,
            goalBelow: true,
          },
          {
            metric: `${tag}, poll p99 vs raw postgres.js reads of the same rows`,
            value: round(m.p99, 2),
            unit: 'ms',
            baseline: round(rawResult.p99, 2),
            ratio: round(m.p99 / rawResult.p99, 2),
            goal: null,
          },
          {
            metric: `${tag}, poll max`,
            value: round(m.max, 1),
            unit: 'ms',
            baseline: round(bareResult.max, 1),
            ratio: round(m.max / bareResult.max, 2),
            goal: null,
          },
          {
            metric: `${tag}, RSS peak (VmHWM)`,
            value: round(Math.max(after[i]!.hwmMiB, rssPeak[i]!)),
            unit: 'MiB',
            baseline: null,
            ratio: null,
            goal: 1024,
            goalBelow: true,
          },
          {
            metric: `${tag}, CPU`,
            value: round(cpu),
            unit: '% of a core',
            baseline: null,
            ratio: null,
            goal: null,
          },
        ];
      }),
    ];
    if (REUSE) return;
    const note = `Load average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}; machine CPU busy ${round(machineBusy * 100)} % of all cores during the ${SECONDS} s window (two backends, PostgreSQL and the load client share them). targets table: heap ${round(perTarget(size!.heap))} B, TOAST ${round(perTarget(size!.toast))} B, indexes ${round(perTarget(size!.indexes))} B per target. The baselines ran ${BASELINE_SECONDS} s each at the same rate after the backends' window.`;
    await writeResult(
      new URL('./scale-result.json', import.meta.url),
      '@otaflow/backend: 1,000,000 targets, two backends',
      figures,
      note,
    );
    log(`bench took ${round((Date.now() - started) / 1000)} s; written bench/scale-result.json`);
  } finally {
    await Promise.all(backends.map((b) => b.stop()));
    await sql.end();
    if (KEEP) log(`kept database ${name}`);
    else await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    await rm(dataDir, { recursive: true, force: true });
  }
}
