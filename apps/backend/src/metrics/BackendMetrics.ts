import { ActionStatus, type UpdateService, type UpdateStore } from '@otaflow/core';
import { sendJson, springError } from '@otaflow/ddi-http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { HttpHandler } from '../http.js';

export const METRICS_PATH = '/metrics';

/** The parts of the HTTP server a request's time is counted under (`routeByPrefix`'s handlers). */
export const SURFACES = [
  'management',
  'ddi',
  'artifacts',
  'huawei',
  'events',
  'console',
  'docs',
  'health',
  'metrics',
  'other',
] as const;
export type Surface = (typeof SURFACES)[number];

/** Where a device report came in; `result` is the adapter's own word for what became of it. */
export type ReportProtocol = 'ddi' | 'mqtt' | 'huawei';

export interface BackendMetricsOptions {
  store: UpdateStore;
  service: UpdateService;
  /** How long a count of actions per status is reused between scrapes (default 5000 ms). */
  actionCountCacheMs?: number;
  /** Node's process metrics (RSS, heap, event loop lag, GC...); default on. */
  processMetrics?: boolean;
}

type Observer = { observe(value: number): void };

/** A gauge read at scrape time: a number, or one value per label value. */
export type CollectedValue = number | Readonly<Record<string, number>>;

/**
 * The backend's Prometheus metrics in a registry of its own (several backends may share a
 * process in tests). Counting on the request path is one histogram observe; everything that
 * costs a read (actions per status, pool, broker state, outbox) is collected at scrape time.
 */
export class BackendMetrics {
  readonly registry = new Registry();
  readonly #requests: Histogram<'surface' | 'code'>;
  /** Bound children per surface and status code: no label hashing on the request path. */
  readonly #observers = new Map<Surface, Map<number, Observer>>();
  /** Polls since the last scrape: a plain number on the hot path, added to the counter then. */
  #polls = 0;
  readonly #reports: Counter<'protocol' | 'result'>;
  readonly #actionUpdates: Counter<'status'>;
  readonly #detach: () => void;
  #counts: { at: number; value: Promise<Partial<Record<ActionStatus, number>>> } | undefined;

  constructor(options: BackendMetricsOptions) {
    const registers = [this.registry];
    if (options.processMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'otaflow_' });
    this.#requests = new Histogram({
      name: 'otaflow_http_request_duration_seconds',
      help: 'HTTP requests by surface and status code: time until the handler was done',
      labelNames: ['surface', 'code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    const metrics = this;
    new Counter({
      name: 'otaflow_ddi_polls_total',
      help: 'DDI polls of the controller base resource',
      registers,
      collect() {
        this.inc(metrics.#polls);
        metrics.#polls = 0;
      },
    });
    this.#reports = new Counter({
      name: 'otaflow_device_reports_total',
      help: "Device reports by protocol and the adapter's outcome",
      labelNames: ['protocol', 'result'],
      registers,
    });
    this.#actionUpdates = new Counter({
      name: 'otaflow_action_updates_total',
      help: 'Actions that changed, by their new status (ACTION_UPDATED domain events)',
      labelNames: ['status'],
      registers,
    });
    this.#detach = options.service.onEvent((event) => {
      if (event.type === 'ACTION_UPDATED') this.#actionUpdates.inc({ status: event.actionStatus });
    });

    const store = options.store;
    const cacheMs = options.actionCountCacheMs ?? 5000;
    if (store.countActionsByStatus) {
      const count = () => {
        const now = Date.now();
        if (!this.#counts || now - this.#counts.at >= cacheMs) {
          const value = (store.countActionsByStatus as () => Promise<Record<string, number>>)();
          // A failed count is not kept: the next scrape asks again.
          value.catch(() => {
            this.#counts = undefined;
          });
          this.#counts = { at: now, value };
        }
        return this.#counts.value;
      };
      this.addCollector(
        'otaflow_actions',
        'Actions of the tenant per status, counted by the store (cached briefly)',
        async () => {
          const counts = await count();
          const all: Record<string, number> = {};
          for (const status of ActionStatus.options) all[status] = counts[status] ?? 0;
          return all;
        },
        'status',
      );
    }
  }

  /**
   * One request done, `seconds` after it arrived: its time, and on the device surfaces what it
   * was (a DDI poll; a DDI feedback or a Huawei notification, by the answer it got).
   */
  request(
    surface: Surface,
    method: string | undefined,
    path: string,
    code: number,
    seconds: number,
  ): void {
    this.observe(surface, code, seconds);
    if (surface === 'ddi') {
      if (isDdiPoll(method, path)) this.#polls++;
      else if (method === 'POST' && path.endsWith('/feedback')) this.report('ddi', outcomeOf(code));
    } else if (surface === 'huawei' && method === 'POST') this.report('huawei', outcomeOf(code));
  }

  observe(surface: Surface, code: number, seconds: number): void {
    let bySurface = this.#observers.get(surface);
    if (!bySurface) {
      bySurface = new Map();
      this.#observers.set(surface, bySurface);
    }
    let observer = bySurface.get(code);
    if (!observer) {
      observer = this.#requests.labels(surface, String(code));
      bySurface.set(code, observer);
    }
    observer.observe(seconds);
  }

  report(protocol: ReportProtocol, result: string): void {
    this.#reports.inc({ protocol, result });
  }

  /**
   * A gauge read at each scrape (the outbox's depth and age, a pool, a broker's state). A
   * collector that throws leaves the gauge NaN for that scrape; the others are unaffected.
   * `label`: the label name when `collect` answers one value per label value.
   */
  addCollector(
    name: string,
    help: string,
    collect: () => CollectedValue | Promise<CollectedValue>,
    label?: string,
  ): void {
    new Gauge({
      name,
      help,
      labelNames: label === undefined ? [] : [label],
      registers: [this.registry],
      async collect() {
        let value: CollectedValue;
        try {
          value = await collect();
        } catch {
          this.reset();
          if (label === undefined) this.set(Number.NaN);
          return;
        }
        if (typeof value === 'number') {
          this.set(value);
          return;
        }
        this.reset();
        for (const [key, n] of Object.entries(value)) this.set({ [label ?? 'key']: key }, n);
      },
    });
  }

  /** `GET /metrics`: the text exposition format. */
  readonly handler: HttpHandler = {
    handle: async (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== METRICS_PATH) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(res, 405, springError(405, METRICS_PATH), { headers: { Allow: 'GET, HEAD' } });
        return true;
      }
      const body = await this.registry.metrics();
      res.writeHead(200, {
        'Content-Type': this.registry.contentType,
        'Cache-Control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };

  close(): void {
    this.#detach();
  }
}

/** A DDI poll: `GET /{tenant}/controller/v1/{controllerId}` and nothing below it. */
export function isDdiPoll(method: string | undefined, path: string): boolean {
  if (method !== 'GET') return false;
  const at = path.indexOf('/controller/v1/');
  return at > 0 && path.indexOf('/', at + 15) < 0 && path.length > at + 15;
}

/** A report's outcome from the HTTP answer it got (the words of the MQTT commander's outcomes). */
function outcomeOf(code: number): string {
  if (code < 300) return 'applied';
  // DDI: 410 Gone for feedback on a closed action; 404/409 for one that is not this device's.
  if (code === 410 || code === 404 || code === 409) return 'refused';
  return code < 500 ? 'dropped' : 'failed';
}

/** Which surface each of the server's prefix handlers is, by the name it is routed under. */
export function surfacesOf(routes: object): Map<unknown, Surface> {
  const names = new Set<string>(SURFACES);
  const map = new Map<unknown, Surface>();
  for (const [name, handler] of Object.entries(routes))
    if (names.has(name) && typeof handler === 'object') map.set(handler, name as Surface);
  return map;
}
