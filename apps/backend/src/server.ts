import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import {
  MemoryUpdateStore,
  type OutboxSink,
  type UpdateService,
  type UpdateStore,
} from '@otaflow/core';
import { sendJson, springError } from '@otaflow/ddi-http';
import {
  createHuaweiReceiver,
  DEFAULT_RECEIVER_PATH,
  type HuaweiUpgradeDispatcher,
  HuaweiUpgradeDispatcher as HuaweiUpgradeDispatcherClass,
} from '@otaflow/huawei-webhook';
import { type Commander, createCommander } from '@otaflow/iothub-mqtt';
import { createSiePublisher, type SiePublisher } from '@otaflow/sie-amqp';
import type { ArtifactStore } from './ArtifactStore.js';
import type { BackendConfig } from './config.js';
import { CONSOLE_PATH, createConsoleHandler } from './console.js';
import { createHttpServer, drainHttpServer } from './createHttpServer.js';
import { createDownloads } from './downloads.js';
import { startEmbeddedBroker } from './embeddedBroker.js';
import { EVENTS_PATH, type EventStreamOptions } from './events/createEventStream.js';
import type { HttpHandler } from './http.js';
import { type Inspection, startInspection } from './inspection.js';
import { createLogger, type Logger } from './logger.js';
import { createBasicAuth, requirePermissions } from './management/basicAuth.js';
import { API_BROWSER_PATH, API_DOCS_PATH, createApiDocs } from './management/createApiDocs.js';
import { createManagementApi } from './management/createManagementApi.js';
import { problemOf } from './management/Problem.js';
import { MGMT_BASE } from './management/representations.js';
import { MANAGEMENT_ROUTES } from './management/routes.js';
import {
  BackendMetrics,
  METRICS_PATH,
  type Surface,
  surfacesOf,
} from './metrics/BackendMetrics.js';
import { Readiness, type ReadinessReport } from './metrics/Readiness.js';
import { type OutboxWakeups, type Relays, startRelays } from './outbox/startRelays.js';
import {
  startTenantRuntime,
  type TenantRuntime,
  tenantArtifactsDir,
} from './tenants/TenantRuntime.js';
import { loadUsers, type User } from './tenants/users.js';

export { DEFAULT_RECEIVER_PATH as HUAWEI_RECEIVER_PATH };

/** Everything an integration needs to build its HTTP handler. */
export interface IntegrationContext {
  config: BackendConfig;
  service: UpdateService;
  artifacts: ArtifactStore;
  logger: Logger;
}

export interface BackendOptions {
  logger?: Logger;
  /**
   * Where the default tenant's targets, actions and catalogue live; in memory by default (tests
   * and embedders; `otaflow-backend` opens the durable one with `openBackendStore`).
   */
  store?: UpdateStore;
  /** Another tenant's store (`openBackendStore`'s `storeOf`); a memory store each by default. */
  storeOf?: (tenant: string) => Promise<UpdateStore>;
  /** The Management API's users; by default the users file, else `--user`/`--password`. */
  users?: readonly User[];
  /** Where artifact bytes go; `<config.dataDir>/artifacts`, else a temporary directory, by default. */
  artifactsDir?: string;
  /** Which store and where, for the ready line (`openBackendStore`'s description). */
  storeDescription?: Record<string, unknown>;
  /** Replaces each tenant's DDI handler (default: @otaflow/ddi-http's `createDdiServer`). */
  ddi?: (context: IntegrationContext) => HttpHandler;
  /** More handlers, tried in turn for what no built-in path prefix claims. */
  handlers?: HttpHandler[];
  /** How long to wait for the MQTT broker at start (default 10 s). */
  mqttConnectTimeoutMs?: number;
  /** How long to wait for the AMQP broker at start before running without SIE (default 5 s). */
  amqpConnectTimeoutMs?: number;
  /** Refuse (500) a Management request that reads a body or query its route does not declare. */
  strictApiDocs?: boolean;
  /** The `/events` stream's limits (ring size, lag allowed, heartbeat); its defaults otherwise. */
  events?: Pick<EventStreamOptions, 'capacity' | 'maxPending' | 'heartbeatMs'>;
  /** The built console served under `/ui/` (default: the console app's `dist` beside this app). */
  consoleDir?: string;
  /**
   * SIE events, device commands and Huawei tasks through the store's outbox and relays (default:
   * on when the store keeps an outbox); false: straight from in-process events.
   */
  outbox?: boolean;
  /** A tenant's outbox wake-ups from other backends on the database (`openBackendStore`'s). */
  outboxWakeups?: (tenant: string) => OutboxWakeups;
  /** Configuration changes other backends commit (`openBackendStore`'s). */
  onConfigurationChange?: (tenant: string, listener: () => void) => () => void;
  /** How often each tenant's configuration is reread besides its notifications (default 1 s). */
  settingsRefreshMs?: number;
}

export interface Backend {
  /** `http://host:port` (the public URL when one is configured). */
  readonly url: string;
  readonly port: number;
  readonly mqttUrl: string;
  readonly embeddedBroker: boolean;
  readonly sie: boolean;
  readonly inspectorUrl: string | undefined;
  readonly inspectorWsUrl: string | undefined;
  readonly huaweiReceiverPath: string;
  /** The callback URL the Huawei platform must push to; it carries the secret, so never log it. */
  readonly huaweiCallbackUrl: string;
  /** The default tenant's service and artifacts. */
  readonly service: UpdateService;
  readonly artifacts: ArtifactStore;
  readonly commander: Commander | undefined;
  /** The tenants this backend serves, the default first. */
  readonly tenants: readonly string[];
  /** One tenant's runtime by name (case-insensitive); undefined for a tenant not served. */
  tenant(name: string): TenantRuntime | undefined;
  /** `/metrics`; `addCollector` takes more gauges (the outbox's depth and age, the pool's). */
  readonly metrics: BackendMetrics;
  /** The default tenant's outbox relays (depth and oldest age per channel); none without an outbox. */
  readonly outbox: Relays | undefined;
  /** Closes the HTTP server, the adapters, the broker and the inspector. Safe to call twice. */
  close(): Promise<void>;
}

type Closer = { name: string; close: () => Promise<void> | void };

/**
 * Starts the update server: one node:http server for the Management API, DDI, the Huawei receiver
 * and artifact downloads; the IoT Hub commander on MQTT (an embedded broker when no URL is
 * given); SIE over AMQP when reachable; and the XState inspector with `inspect`.
 */
export async function startBackend(
  config: BackendConfig,
  options: BackendOptions = {},
): Promise<Backend> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const closers: Closer[] = [];
  const closeAll = async () => {
    for (const closer of closers.splice(0).reverse()) {
      try {
        await closer.close();
      } catch (error) {
        logger.warn({ component: closer.name, err: error }, 'close failed');
      }
    }
  };

  try {
    let inspection: Inspection | undefined;
    if (config.inspect) {
      inspection = await startInspection({
        port: config.inspectPort,
        logger: logger.child({ component: 'inspect' }),
      });
      closers.push({ name: 'inspector', close: () => inspection?.close() });
    }

    // ------------------------------------------------------------ tenants
    // Every user's tenant is served, and the default one; each has its own store (one database,
    // every statement scoped), service, configuration, rollouts, artifacts, DDI and events.
    const users = options.users ?? (await loadUsers(config));
    const names = tenantNames(config.tenant, users);
    const downloadSecret = config.downloadSecret ?? randomBytes(32).toString('base64url');
    const runtimes = new Map<string, TenantRuntime>();
    for (const name of names) {
      const isDefault = name === config.tenant;
      const store = isDefault
        ? (options.store ?? new MemoryUpdateStore())
        : await (options.storeOf?.(name) ?? Promise.resolve(new MemoryUpdateStore()));
      const defaultDir = options.artifactsDir ?? artifactsDirOf(config);
      const runtime = await startTenantRuntime({
        tenant: name,
        store,
        config,
        logger,
        artifactsDir: isDefault ? defaultDir : tenantArtifactsDir(defaultDir, name),
        downloadSecret,
        isDefault,
        ...(inspection ? { inspection } : {}),
        ...(options.events ? { events: options.events } : {}),
        ...(options.outbox === undefined ? {} : { outbox: options.outbox }),
        ...(options.onConfigurationChange
          ? { onConfigurationChange: options.onConfigurationChange }
          : {}),
        ...(options.settingsRefreshMs ? { settingsRefreshMs: options.settingsRefreshMs } : {}),
        ...(options.ddi
          ? {
              ddi: (parts: { service: UpdateService; artifacts: ArtifactStore; logger: Logger }) =>
                options.ddi!({ config: { ...config, tenant: name }, ...parts }),
            }
          : {}),
      });
      // Pushed before every surface, so it runs after they all stopped: the last poll times land.
      closers.push({ name: `tenant ${name}`, close: () => runtime.close() });
      runtimes.set(name.toLowerCase(), runtime);
    }
    const tenantOf = (name: string) => runtimes.get(name.toLowerCase());
    const main = tenantOf(config.tenant)!;
    const { service, artifacts } = main;
    // Counts per status are the default tenant's; requests, polls and reports are every tenant's.
    const metrics = new BackendMetrics({ store: main.store, service });
    closers.push({ name: 'metrics', close: () => metrics.close() });
    const readiness = new Readiness({ store: main.store });

    // ------------------------------------------------------------ MQTT broker
    let mqttUrl = config.mqttUrl;
    let embeddedBroker = false;
    let commanderLogin: { username: string; password: string } | undefined;
    // Each backend on an external broker needs a client id of its own (a second one would take
    // the first one's session over); the host name and port keep it stable across restarts.
    const commanderClientId =
      config.mqttClientId ??
      (config.mqttUrl
        ? `otaflow-commander-${config.tenant}-${hostname()}-${config.port}`
        : `otaflow-commander-${config.tenant}`);
    const shareGroup = config.mqttShareGroup ?? defaultShareGroup(config.databaseUrl);
    if (!mqttUrl) {
      const broker = await startEmbeddedBroker({
        tenant: config.tenant,
        service,
        devicePassword: config.mqttDevicePassword,
        commanderClientId,
        logger: logger.child({ component: 'mqtt-broker' }),
      });
      closers.push({ name: 'mqtt-broker', close: broker.close });
      mqttUrl = broker.url;
      embeddedBroker = true;
      commanderLogin = broker.commander;
      logger.info({ mqttUrl }, 'embedded MQTT broker started');
    }

    // ------------------------------------------------------------ HTTP
    let ready = false;
    // Filled in below, once the server's URL is known; nothing is routed before `listen`.
    let routes: PrefixRoutes | undefined;
    let surfaces = new Map<unknown, Surface>();
    const extra = options.handlers ?? [];
    const server = createHttpServer(config, logger, (req, res) => {
      void dispatch(req, res);
    });
    const dispatch = async (req: http.IncomingMessage, res: http.ServerResponse) => {
      const started = performance.now();
      const path = pathOf(req.url);
      const handler = routes && routeByPrefix(routes, path);
      try {
        if (handler && (await handler.handle(req, res))) return;
        for (const more of extra) if (await more.handle(req, res)) return;
        sendJson(res, 404, springError(404, path));
      } catch (error) {
        logger.error({ err: error, method: req.method, url: req.url }, 'request failed');
        if (!res.headersSent) sendJson(res, 500, springError(500, pathOf(req.url)));
        else res.destroy();
      } finally {
        const surface = surfaces.get(handler) ?? 'other';
        metrics.request(
          surface,
          req.method,
          path,
          res.statusCode,
          (performance.now() - started) / 1000,
        );
      }
    };
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    closers.push({
      name: 'http',
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    });
    const address = server.address() as net.AddressInfo;
    const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const url = (
      config.publicUrl ??
      `http://${net.isIPv6(shownHost) ? `[${shownHost}]` : shownHost}:${address.port}`
    ).replace(/\/+$/, '');
    const auth = createBasicAuth({
      users,
      authMaxFailures: config.mgmtAuthFailures,
      authWindowMs: config.mgmtAuthWindow * 1000,
    });
    const downloads = createDownloads({
      tenantOf: (name) => (name === undefined ? main : tenantOf(name)),
      auth,
      logger: logger.child({ component: 'downloads' }),
    });
    // MQTT devices and SIE consumers get links they can use without headers.
    const artifactUrl = (tenant: string, moduleId: number, filename: string) =>
      downloads.signedUrl(url, tenant, moduleId, filename);

    // The platform sends no headers of ours: the callback URL it was given carries the secret.
    // The Huawei platform's devices belong to the default tenant.
    const huaweiCallbackSecret =
      config.huaweiCallbackSecret ?? randomBytes(32).toString('base64url');
    const huaweiCallbackUrl = `${url}${DEFAULT_RECEIVER_PATH}?secret=${encodeURIComponent(huaweiCallbackSecret)}`;
    const huaweiReceiver = createHuaweiReceiver({
      service,
      path: DEFAULT_RECEIVER_PATH,
      secret: huaweiCallbackSecret,
      logger: logger.child({ component: 'huawei' }),
    });
    // Pushed after the HTTP server, so they run before it: streams end cleanly, then sockets close.
    closers.push({
      name: 'events',
      close: () => {
        for (const runtime of runtimes.values()) runtime.events.close();
      },
    });
    routes = {
      health: healthHandler(() => (ready ? readiness.check() : undefined)),
      metrics: metrics.handler,
      events: tenantEvents(auth, tenantOf),
      console: createConsoleHandler(options.consoleDir),
      management: createManagementApi({
        tenantApi: (name) => tenantOf(name)?.api,
        auth,
        logger: logger.child({ component: 'mgmt' }),
        ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
        ...(options.strictApiDocs ? { strictDocs: true } : {}),
      }),
      docs: createApiDocs({ routes: MANAGEMENT_ROUTES }),
      ddi: {
        handle: async (req, res) => {
          const path = pathOf(req.url);
          const runtime = tenantOf(decodeSegment(path.slice(1, path.indexOf('/', 1))));
          return runtime ? runtime.ddi.handle(req, res) : false;
        },
      },
      huaweiPath: huaweiReceiver.path,
      huawei: huaweiReceiver,
      artifacts: downloads,
    };
    surfaces = surfacesOf(routes);

    // ------------------------------------------------------------ IoT Hub commander
    // One commander per tenant (its own Hono topics and client id); the embedded broker serves
    // the default tenant only, other tenants' devices need an external broker.
    const commanders = new Map<string, Commander>();
    for (const runtime of runtimes.values()) {
      if (embeddedBroker && runtime !== main) {
        logger.info(
          { tenant: runtime.tenant },
          'no IoT Hub MQTT for this tenant: the embedded broker serves the default tenant only (give --mqtt-url)',
        );
        continue;
      }
      const commander = createCommander({
        url: mqttUrl,
        service: runtime.service,
        tenant: runtime.tenant,
        artifactUrl: (module, artifact) =>
          artifactUrl(runtime.tenant, module.id, artifact.filename),
        logger: logger.child({ component: 'iothub', tenant: runtime.tenant }),
        clientId: runtime === main ? commanderClientId : `${commanderClientId}-${runtime.tenant}`,
        // Several backends on one external broker split the reports; aedes knows no `$share`.
        ...(!embeddedBroker && shareGroup !== '' ? { shareGroup } : {}),
        ...(commanderLogin && runtime === main ? { mqttOptions: commanderLogin } : {}),
        ...(runtime.channels ? { outbox: true } : {}),
        // Session and flow control (MQTT 5, large receive maximum, persistent session, 3.1.1
        // fallback for the embedded aedes) are the commander's own business.
      });
      closers.push({ name: `commander ${runtime.tenant}`, close: () => commander.stop() });
      commanders.set(runtime.tenant, commander);
      readiness.require({
        name: commanders.size === 1 ? 'mqtt' : `mqtt ${runtime.tenant}`,
        connected: () => commander.client?.connected === true,
      });
      commander.onReport((outcome) => metrics.report('mqtt', outcome.result));
      await withTimeout(
        commander.start(),
        options.mqttConnectTimeoutMs ?? 10_000,
        `MQTT broker ${redact(mqttUrl)} not reachable`,
      );
    }
    const commander = commanders.get(main.tenant);
    metrics.addCollector(
      'otaflow_mqtt_connected',
      'IoT Hub commanders connected (1 each when all are)',
      () => [...commanders.values()].filter((c) => c.client?.connected === true).length,
    );

    // ------------------------------------------------------------ Huawei platform
    let dispatcher: HuaweiUpgradeDispatcher | undefined;
    if (config.huaweiPlatformUrl) {
      dispatcher = new HuaweiUpgradeDispatcherClass({
        platformUrl: config.huaweiPlatformUrl,
        appId: config.huaweiAppId,
        secret: config.huaweiSecret,
        callbackUrl: huaweiCallbackUrl,
        logger: logger.child({ component: 'huawei-dispatcher' }),
      });
      await dispatcher.attach(service, { outbox: main.channels !== undefined });
      closers.push({ name: 'huawei-dispatcher', close: () => dispatcher?.stop() });
    }

    // ------------------------------------------------------------ SIE
    let sie: SiePublisher | undefined;
    const sieSinks = new Map<TenantRuntime, OutboxSink>();
    if (config.amqpUrl) {
      for (const runtime of runtimes.values()) {
        const publisher = createSiePublisher({
          url: config.amqpUrl,
          tenant: runtime.tenant,
          exchange: config.sieExchange,
          queue: config.sieQueue,
          bufferSize: config.sieBuffer,
          logger: logger.child({ component: 'sie', tenant: runtime.tenant }),
          artifactUrls: (module, artifact) => ({
            HTTP: artifactUrl(runtime.tenant, module.moduleId, artifact.filename),
          }),
        });
        let connected = true;
        try {
          await publisher.start({ timeoutMs: options.amqpConnectTimeoutMs ?? 5000 });
        } catch (error) {
          connected = false;
          if (!runtime.channels) {
            logger.warn(
              { amqpUrl: redact(config.amqpUrl), err: error },
              'running without SIE: AMQP broker not reachable',
            );
            await publisher.close().catch(() => {});
            break;
          }
          // The publisher keeps reconnecting; the relay hands it the events once it is up.
          logger.warn(
            { amqpUrl: redact(config.amqpUrl), err: error, tenant: runtime.tenant },
            'running without SIE for now: AMQP broker not reachable; its events wait in the outbox',
          );
        }
        const detach = runtime.channels ? () => {} : publisher.attach(runtime.service);
        if (runtime.channels) sieSinks.set(runtime, publisher.outboxSink());
        closers.push({
          name: `sie ${runtime.tenant}`,
          close: async () => {
            detach();
            await publisher.close();
          },
        });
        if (!connected) continue;
        if (runtime === main) sie = publisher;
        // Required once it runs: a backend that runs without SIE says so at start.
        readiness.require({
          name: runtime === main ? 'sie' : `sie ${runtime.tenant}`,
          connected: () => publisher.connected,
        });
        if (runtime !== main) continue;
        metrics.addCollector(
          'otaflow_sie_connected',
          'SIE publisher connected (1) or not (0)',
          () => (publisher.connected ? 1 : 0),
        );
        metrics.addCollector(
          'otaflow_sie_waiting_messages',
          'SIE messages not yet confirmed by the broker, by where they wait',
          () => {
            const status = publisher.status();
            return { buffered: status.buffered, unconfirmed: status.unconfirmed };
          },
          'stage',
        );
      }
    } else {
      logger.info('running without SIE: no AMQP_URL given');
    }

    // ------------------------------------------------------------ outbox relays
    // Per tenant, one relay per channel from the tenant's outbox into its adapter; claimed by one
    // backend at a time, so with several backends each entry leaves once (or again after a crash).
    const relaysOf = new Map<TenantRuntime, Relays>();
    for (const runtime of runtimes.values()) {
      if (!runtime.channels) continue;
      const commander = commanders.get(runtime.tenant);
      const sieSink = sieSinks.get(runtime);
      const started = await startRelays({
        store: runtime.store,
        service: runtime.service,
        sinks: {
          ...(commander ? { commands: commander.outboxSink() } : {}),
          ...(sieSink ? { sie: sieSink } : {}),
          ...(dispatcher && runtime === main ? { huawei: dispatcher.outboxSink() } : {}),
        },
        logger: logger.child({ tenant: runtime.tenant }),
        wakeups: options.outboxWakeups?.(runtime.tenant),
      });
      relaysOf.set(runtime, started);
      // Stopped first, awaited last: a batch under way ends once its adapter has closed.
      closers.unshift({ name: `outbox ${runtime.tenant} drained`, close: () => started.stop() });
      closers.push({ name: `outbox ${runtime.tenant}`, close: () => void started.stop() });
    }
    const relays = relaysOf.get(main);
    if (relays)
      metrics.addCollector(
        'otaflow_outbox_depth',
        "Entries waiting in the default tenant's outbox, by channel",
        async () => Object.fromEntries((await relays.backlog()).map((c) => [c.channel, c.depth])),
        'channel',
      );
    if (relays)
      metrics.addCollector(
        'otaflow_outbox_oldest_age_seconds',
        "Age of the oldest entry waiting in the default tenant's outbox, by channel",
        async () =>
          Object.fromEntries(
            (await relays.backlog()).map((c) => [c.channel, c.oldestAgeMs / 1000]),
          ),
        'channel',
      );

    ready = true;
    let closing: Promise<void> | undefined;
    const backend: Backend = {
      url,
      port: address.port,
      mqttUrl,
      embeddedBroker,
      sie: sie !== undefined,
      inspectorUrl: inspection?.url,
      inspectorWsUrl: inspection?.wsUrl,
      huaweiReceiverPath: huaweiReceiver.path,
      huaweiCallbackUrl,
      service,
      artifacts,
      commander,
      tenants: [...runtimes.values()].map((r) => r.tenant),
      tenant: tenantOf,
      metrics,
      outbox: relays,
      close() {
        ready = false;
        closing ??= (async () => {
          if (config.shutdownDelayMs > 0)
            await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
          // The console's streams would hold the drain to its end: they go first.
          for (const runtime of runtimes.values()) runtime.events.close();
          const left = await drainHttpServer(server, config.shutdownTimeoutMs);
          if (left > 0) logger.warn({ requests: left }, 'shutdown timeout: requests cut off');
          await closeAll();
        })();
        return closing;
      },
    };
    logger.info(
      {
        url,
        mqttUrl: redact(mqttUrl),
        embeddedBroker,
        tenant: config.tenant,
        tenants: [...runtimes.values()].map((r) => r.tenant),
        users: users.length,
        ...(options.storeDescription ?? { store: options.store ? 'custom' : 'memory' }),
        managementApi: `${url}/rest/v1`,
        console: `${url}${CONSOLE_PATH}`,
        ddi: `${url}/${config.tenant}/controller/v1`,
        huaweiReceiver: `${url}${huaweiReceiver.path}`,
        huaweiPlatform: config.huaweiPlatformUrl,
        sie: backend.sie,
        ...(backend.sie ? { sieExchange: config.sieExchange, sieQueue: config.sieQueue } : {}),
        inspector: inspection?.url,
      },
      'ready',
    );
    return backend;
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * Backends share a fleet exactly when they share a PostgreSQL database, so that is what names
 * their share group by default: backends of one database split the reports, while backends of
 * other databases (other deployments, tests) on the same broker never take each other's. PGlite
 * and memory state belong to one backend: plain subscriptions.
 */
export function defaultShareGroup(databaseUrl: string | undefined): string {
  if (databaseUrl === undefined) return '';
  const url = new URL(databaseUrl);
  const where = `${url.hostname}:${url.port || 5432}${url.pathname}`;
  return `otaflow-${createHash('sha256').update(where).digest('hex').slice(0, 12)}`;
}

/** The default tenant first, then every user's tenant once (names compare case-insensitively). */
export function tenantNames(defaultTenant: string, users: readonly User[]): string[] {
  const names = new Map<string, string>([[defaultTenant.toLowerCase(), defaultTenant]]);
  for (const user of users)
    if (!names.has(user.tenant.toLowerCase())) names.set(user.tenant.toLowerCase(), user.tenant);
  return [...names.values()];
}

/**
 * `/events`: the stream of the user's tenant, for a user who may read targets; 401 and 403 as the
 * Management API answers them.
 */
function tenantEvents(
  auth: ReturnType<typeof createBasicAuth>,
  tenantOf: (name: string) => TenantRuntime | undefined,
): HttpHandler {
  return {
    async handle(req, res) {
      if (pathOf(req.url) !== EVENTS_PATH) return false;
      let runtime: TenantRuntime | undefined;
      try {
        const principal = await auth(req);
        requirePermissions(principal, ['READ_TARGET']);
        runtime = tenantOf(principal.tenant);
      } catch (error) {
        const problem = problemOf(error);
        if (!problem) throw error;
        sendJson(res, problem.status, problem.body ?? springError(problem.status, EVENTS_PATH), {
          headers: problem.headers,
        });
        return true;
      }
      if (!runtime) sendJson(res, 503, springError(503, EVENTS_PATH));
      else await runtime.events.handle(req, res);
      return true;
    },
  };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The handlers the backend routes to by path prefix. */
interface PrefixRoutes {
  health: HttpHandler;
  events: HttpHandler;
  console: HttpHandler;
  management: HttpHandler;
  ddi: HttpHandler;
  huaweiPath: string;
  huawei: HttpHandler;
  artifacts: HttpHandler;
  docs: HttpHandler;
  metrics: HttpHandler;
}

/** The request path without its query. */
function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const end = url.indexOf('?');
  return end < 0 ? url : url.slice(0, end);
}

/**
 * The one handler a path belongs to, decided once by its prefix: `/rest/v1/` (Management API),
 * `/{tenant}/controller/` (DDI), `/artifacts/`, the Huawei receiver's path, `/livez`, `/readyz`,
 * `/events` (the console's event stream), `/ui/` (the console).
 * Undefined for anything else, which `options.handlers` may still claim.
 */
export function routeByPrefix(routes: PrefixRoutes, path: string): HttpHandler | undefined {
  if (path === MGMT_BASE || path.startsWith(`${MGMT_BASE}/`)) return routes.management;
  if (path.startsWith('/artifacts/')) return routes.artifacts;
  if (path === API_DOCS_PATH || path.startsWith(API_BROWSER_PATH.slice(0, -1))) return routes.docs;
  if (path === '/livez' || path === '/readyz') return routes.health;
  if (path === METRICS_PATH) return routes.metrics;
  if (path === EVENTS_PATH) return routes.events;
  if (path === '/ui' || path.startsWith(CONSOLE_PATH)) return routes.console;
  if (path === routes.huaweiPath) return routes.huawei;
  const slash = path.indexOf('/', 1);
  if (slash > 1 && path.startsWith('/controller/', slash)) return routes.ddi;
  return undefined;
}

/** `/readyz` asks `readiness`; undefined: not started yet, or closing. */
function healthHandler(readiness: () => Promise<ReadinessReport> | undefined): HttpHandler {
  return {
    async handle(req, res) {
      const path = pathOf(req.url);
      if (path === '/livez') {
        sendJson(res, 200, { status: 'UP' });
        return true;
      }
      if (path === '/readyz') {
        const report = await readiness();
        const up = report?.ready === true;
        sendJson(res, up ? 200 : 503, {
          status: up ? 'UP' : 'DOWN',
          ...(report ? { database: report.database, brokers: report.brokers } : {}),
        });
        return true;
      }
      return false;
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** `<dataDir>/artifacts`, as `openBackendStore` puts it beside the database; none without one. */
function artifactsDirOf(config: BackendConfig): string | undefined {
  return config.dataDir === undefined ? undefined : join(resolve(config.dataDir), 'artifacts');
}

/** A URL without its password, for logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  } catch {
    return url;
  }
}
