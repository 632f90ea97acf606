/**
 * Device reports per second through the store against the raw client (bench/reports.ts), and
 * 100,000 targets in PostgreSQL, a filtered, sorted, paged target list through the store
 * (`listTargets` with core's ListQuery compiled to SQL), against the raw postgres.js client
 * running the same two statements (page and count) with the same parameters: p50 and p99 of
 * sequential calls. Goal: p99 < 50 ms. The server is DATABASE_URL or the local default; a
 * scratch database is created and dropped.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import {
  createTargetSnapshot,
  type ListQuery,
  listQueryOf,
  persistTarget,
  type TargetRecord,
} from '@otaflow/core';
import postgres from 'postgres';
import { migrate, openServerDb, PostgresUpdateStore } from '../src/index.js';
import { compileListSql, TARGET_LIST } from '../src/listSql.js';
import { benchOutbox } from './outbox.js';
import { benchReports } from './reports.js';

const TARGETS = 100_000;
const WARMUP = 50;
const ROUNDS = 500;
const TENANT = 'bench';
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const STATUSES = ['UNKNOWN', 'REGISTERED', 'PENDING', 'IN_SYNC', 'ERROR'];

/** The i-th list asked for: two statuses, a name prefix, newest-name-first pages deep in the list. */
function queryOf(i: number): ListQuery {
  return listQueryOf({
    filter: {
      kind: 'and',
      nodes: [
        { kind: 'cmp', field: 'updateStatus', op: '=in=', values: ['pending', 'error'] },
        { kind: 'cmp', field: 'name', op: '==', values: [`device-${(i % 9) + 1}*`] },
      ],
    },
    sort: [{ field: 'name', direction: 'DESC' }],
    offset: (i % 10) * 50,
    limit: 50,
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

async function timed(run: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < WARMUP; i++) await run(i);
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    await run(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

const round = (n: number) => Math.round(n * 100) / 100;

async function main() {
  const name = `otaflow_bench_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = await openServerDb(url.href);
  const raw = postgres(url.href, { max: 10, onnotice: () => {} });
  try {
    await migrate(db);
    const template: TargetRecord = {
      controllerId: 'x',
      name: 'x',
      securityToken: 'token',
      attributes: { 'hw.rev': 'a1' },
      requestAttributes: false,
      version: 0,
      state: persistTarget(createTargetSnapshot({ controllerId: 'x', createdAt: 1 })),
    };
    const loadStart = performance.now();
    // One statement: the records are the template with their own id, name and creation time.
    await db.query(
      `INSERT INTO targets (tenant, controller_id, version, name, update_status, created_at, last_modified_at, record)
       SELECT $1, 'device-' || i, 0, 'device-' || i, ($3::text[])[1 + i % 5], now(), now(),
              jsonb_set($2::text::jsonb || jsonb_build_object('controllerId', 'device-' || i, 'name', 'device-' || i),
                        '{state,context,createdAt}', to_jsonb(i))
         FROM generate_series(1, $4::int) AS i`,
      [TENANT, JSON.stringify(template), STATUSES, TARGETS],
    );
    await db.exec('ANALYZE targets');
    const loadMs = performance.now() - loadStart;
    console.log(`loaded ${TARGETS} targets in ${Math.round(loadMs)} ms`);

    const store = new PostgresUpdateStore(db, TENANT, db);
    const sample = await store.listTargets(queryOf(0));
    console.log(`sample: total ${sample.total}, first ${sample.items[0]?.controllerId}`);

    const ours = await timed((i) => store.listTargets(queryOf(i)));
    const baseline = await timed(async (i) => {
      const query = queryOf(i);
      const params: unknown[] = [TENANT];
      const { where, orderBy } = compileListSql(TARGET_LIST, query, params);
      const condition = `tenant = $1 AND ${where}`;
      const n = params.length;
      const p = params as postgres.ParameterOrJSON<never>[];
      await Promise.all([
        raw.unsafe(
          `SELECT record FROM targets WHERE ${condition} ORDER BY ${orderBy} LIMIT $${n + 1} OFFSET $${n + 2}`,
          [...p, query.limit, query.offset] as postgres.ParameterOrJSON<never>[],
          { prepare: true },
        ),
        raw.unsafe(`SELECT count(*) AS n FROM targets WHERE ${condition}`, p, { prepare: true }),
      ]);
    });
    console.log('store', ours, 'raw', baseline);
    const reports = await benchReports(db, raw);
    const outbox = await benchOutbox(db);
    const result = {
      name: '@otaflow/store-postgres',
      date: new Date().toISOString(),
      machine: {
        cores: cpus().length,
        memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        node: process.version,
        loadAverage: round(loadavg()[0] ?? 0),
      },
      figures: [
        {
          metric: `target list p99, ${TARGETS.toLocaleString('en')} targets in PostgreSQL, filtered + sorted + paged`,
          value: round(ours.p99),
          unit: 'ms',
          baseline: round(baseline.p99),
          ratio: round(baseline.p99 / ours.p99),
          goal: 50,
          goalBelow: true,
        },
        {
          metric: 'target list p50, same query',
          value: round(ours.p50),
          unit: 'ms',
          baseline: round(baseline.p50),
          ratio: round(baseline.p50 / ours.p50),
          goal: null,
        },
        {
          metric: `device reports applied (DDI proceeding through UpdateService, 64 devices at once), vs the raw client's same statements`,
          value: Math.round(reports.store),
          unit: 'reports/s',
          baseline: Math.round(reports.raw),
          ratio: round(reports.ratio),
          goal: 0.8,
        },
        {
          metric: `closing reports with the outbox on (2 events x 2 channels written in the unit), vs the same units with it off, 64 devices at once`,
          value: Math.round(outbox.withOutbox),
          unit: 'units/s',
          baseline: Math.round(outbox.without),
          ratio: round(outbox.ratio),
          goal: 0.8,
        },
        {
          metric: `bulk insert of ${TARGETS.toLocaleString('en')} targets (one INSERT ... SELECT)`,
          value: Math.round(loadMs),
          unit: 'ms',
          baseline: null,
          ratio: null,
          goal: null,
        },
      ],
    };
    writeFileSync(
      new URL('./result.json', import.meta.url),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log('wrote bench/result.json');
  } finally {
    await raw.end();
    await db.close();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
