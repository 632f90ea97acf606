import net from 'node:net';
import { openServerDb } from '@otaflow/store-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { addPoolMetrics } from '../src/metrics/addPoolMetrics.js';
import { isDdiPoll } from '../src/metrics/BackendMetrics.js';
import { type BackendStore, openBackendStore } from '../src/openBackendStore.js';
import { type Backend, startBackend } from '../src/server.js';
import { call, ddi, seed } from './helpers.js';

const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function serverAvailable(): Promise<boolean> {
  try {
    const db = await openServerDb(ADMIN_URL);
    await db.query('SELECT 1');
    await db.close();
    return true;
  } catch (error) {
    if (process.env.CI === 'true') throw new Error(`PostgreSQL at ${ADMIN_URL} is required in CI`);
    console.warn(
      `\n*** SKIPPED: the metrics and readiness tests need PostgreSQL at ${ADMIN_URL} (${error}) ***\n`,
    );
    return false;
  }
}
const havePostgres = await serverAvailable();

/**
 * A TCP relay in front of PostgreSQL that a test can cut (listener closed, every connection
 * destroyed) and restore on the same port: the database becomes unreachable and comes back,
 * as a network partition or a restart would look to the backend.
 */
class Relay {
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  port = 0;
  constructor(
    readonly host: string,
    readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    if (this.#server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.once('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|[Nn][Aa][Nn]|[+-]?[Ii]nf))(?: -?[0-9]+)?$`,
);
const HELP = new RegExp(`^# HELP (${NAME}) .*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

/**
 * The text exposition format (0.0.4), strictly: any line that is none of its three kinds fails.
 * Values as Prometheus reads them (Go's ParseFloat: NaN and Inf in any case; prom-client writes `Nan`).
 */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = TYPE.exec(line);
    if (type) {
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    if (HELP.test(line)) continue;
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`not exposition format: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[m[1] as string] = m[2] as string;
    samples.push({ name: sample[1] as string, labels, value: Number(sample[3]) });
  }
  return { samples, types };
}

function sampleSum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found.reduce((sum, s) => sum + s.value, 0);
}

async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!havePostgres)('/metrics and /readyz against PostgreSQL', () => {
  const dbName = `otaflow_metrics_${process.pid}_${Date.now().toString(36)}`;
  let relay: Relay;
  let state: BackendStore;
  let backend: Backend;

  beforeAll(async () => {
    const admin = await openServerDb(ADMIN_URL);
    await admin.exec(`CREATE DATABASE ${dbName}`);
    await admin.close();
    const target = new URL(ADMIN_URL);
    relay = new Relay(target.hostname, Number(target.port || 5432));
    await relay.open();
    const url = new URL(ADMIN_URL);
    url.host = `127.0.0.1:${relay.port}`;
    url.pathname = `/${dbName}`;
    const config = parseConfig({
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      databaseUrl: url.href,
      store: 'database',
      dataDir: `${process.env.TMPDIR ?? '/tmp'}/${dbName}`,
    });
    const logger = createLogger({ level: 'silent' });
    state = await openBackendStore(config, { logger });
    backend = await startBackend(config, { logger, store: state.store });
    if (state.poolStats) addPoolMetrics(backend.metrics, state.poolStats);
  }, 60_000);

  afterAll(async () => {
    await relay?.open().catch(() => {});
    await backend?.close();
    await state?.close();
    const admin = await openServerDb(ADMIN_URL);
    await admin.exec(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.close();
  });

  const scrape = async () => {
    const res = await fetch(`${backend.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };

  it('serves the exposition format, and its counters move with a poll and a report', async () => {
    const before = await scrape();
    expect(before.types.get('otaflow_http_request_duration_seconds')).toBe('histogram');
    expect(before.types.get('otaflow_actions')).toBe('gauge');
    expect(before.types.get('otaflow_process_resident_memory_bytes')).toBe('gauge');
    expect(before.types.get('otaflow_nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(sampleSum(before.samples, 'otaflow_mqtt_connected')).toBe(1);
    expect(sampleSum(before.samples, 'otaflow_db_pool_connections')).toBe(10);

    const { setId } = await seed(backend, ['metrics-dev']);
    const assigned = await call(
      backend,
      'POST',
      `/rest/v1/distributionsets/${setId}/assignedTargets`,
      [{ id: 'metrics-dev' }],
    );
    const actionId = assigned.json.assignedActions[0].id as number;
    await ddi(backend, 'metrics-dev');
    await ddi(backend, 'metrics-dev', `/deploymentBase/${actionId}/feedback`, {
      status: { execution: 'proceeding', result: { finished: 'none' } },
    });

    // The count per status is cached for a few seconds: wait for the next one.
    let after = await scrape();
    await waitFor(async () => {
      after = await scrape();
      return sampleSum(after.samples, 'otaflow_actions', { status: 'RUNNING' }) === 1;
    }, 'the action counted as RUNNING');
    const s = (name: string, labels?: Record<string, string>) =>
      sampleSum(after.samples, name, labels) - sampleSum(before.samples, name, labels);
    expect(s('otaflow_ddi_polls_total')).toBe(1);
    expect(s('otaflow_device_reports_total', { protocol: 'ddi', result: 'applied' })).toBe(1);
    expect(s('otaflow_http_request_duration_seconds_count', { surface: 'ddi', code: '200' })).toBe(
      2,
    );
    expect(
      s('otaflow_http_request_duration_seconds_count', { surface: 'management', code: '201' }),
    ).toBeGreaterThanOrEqual(1);
    expect(s('otaflow_action_updates_total')).toBeGreaterThanOrEqual(1);
    expect(sampleSum(after.samples, 'otaflow_actions', { status: 'FINISHED' })).toBe(0);
  });

  it('answers 503 on /readyz while PostgreSQL is unreachable, and 200 once it is back', async () => {
    const ready = async () => (await fetch(`${backend.url}/readyz`)).status;
    expect(await ready()).toBe(200);
    await relay.cut();
    await waitFor(async () => (await ready()) === 503, '/readyz 503');
    const down = await (await fetch(`${backend.url}/readyz`)).json();
    expect(down).toEqual({ status: 'DOWN', database: 'DOWN', brokers: { mqtt: 'UP' } });
    // Liveness is not readiness: the process is fine.
    expect((await fetch(`${backend.url}/livez`)).status).toBe(200);
    await relay.open();
    await waitFor(async () => (await ready()) === 200, '/readyz 200 again');
    expect(await (await fetch(`${backend.url}/readyz`)).json()).toEqual({
      status: 'UP',
      database: 'UP',
      brokers: { mqtt: 'UP' },
    });
  }, 60_000);
});

describe('what counts as a DDI poll', () => {
  it('is a GET of the controller base resource only', () => {
    expect(isDdiPoll('GET', '/DEFAULT/controller/v1/dev-1')).toBe(true);
    expect(isDdiPoll('GET', '/DEFAULT/controller/v1/dev-1/deploymentBase/3')).toBe(false);
    expect(isDdiPoll('PUT', '/DEFAULT/controller/v1/dev-1')).toBe(false);
    expect(isDdiPoll('GET', '/DEFAULT/controller/v1/')).toBe(false);
  });
});
