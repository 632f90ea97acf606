import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { MemoryUpdateStore, UpdateService, type UpdateStore } from '@otaflow/core';
import {
  createDdiServer,
  type DdiAuthOptions,
  type DdiServerOptions,
  sendJson,
  springError,
} from '@otaflow/ddi-http';
import {
  createHuaweiReceiver,
  DEFAULT_RECEIVER_PATH,
  type HuaweiUpgradeDispatcher,
  HuaweiUpgradeDispatcher as HuaweiUpgradeDispatcherClass,
} from '@otaflow/huawei-webhook';
import { type Commander, createCommander } from '@otaflow/iothub-mqtt';
import { createSiePublisher, type SiePublisher } from '@otaflow/sie-amqp';
import { ArtifactStore } from './ArtifactStore.js';
import type { BackendConfig } from './config.js';
import { CONSOLE_PATH, createConsoleHandler } from './console.js';
import { createHttpServer } from './createHttpServer.js';
import { createDownloadSigner } from './downloadSigner.js';
import { createDownloads } from './downloads.js';
import { startEmbeddedBroker } from './embeddedBroker.js';
import {
  createEventStream,
  EVENTS_PATH,
  type EventStreamOptions,
} from './events/createEventStream.js';
import type { HttpHandler } from './http.js';
import { type Inspection, startInspection } from './inspection.js';
import { createLogger, type Logger } from './logger.js';
import { createBasicAuth } from './management/basicAuth.js';
import { API_BROWSER_PATH, API_DOCS_PATH, createApiDocs } from './management/createApiDocs.js';
import { createManagementApi } from './management/createManagementApi.js';
import { MGMT_BASE } from './management/representations.js';
import { requireAssignableSet } from './management/requests.js';
import { MANAGEMENT_ROUTES } from './management/routes.js';
import { compatibleTargets } from './management/typeCatalogue.js';
import { RolloutEngine } from './rollouts/RolloutEngine.js';

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
   * Where targets, actions and the catalogue live; in memory by default (tests and embedders;
   * `otaflow-backend` opens the durable one with `openBackendStore`).
   */
  store?: UpdateStore;
  /** Where artifact bytes go; `<config.dataDir>/artifacts`, else a temporary directory, by default. */
  artifactsDir?: string;
  /** Which store and where, for the ready line (`openBackendStore`'s description). */
  storeDescription?: Record<string, unknown>;
  /** Replaces the DDI handler (default: @otaflow/ddi-http's `createDdiServer`). */
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
  readonly service: UpdateService;
  readonly artifacts: ArtifactStore;
  readonly commander: Commander | undefined;
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

    const store = options.store ?? new MemoryUpdateStore();
    const service = new UpdateService({
      store,
      onListenerError: (error, event) =>
        logger.warn({ event: event.type, err: error }, 'domain event listener failed'),
      onContactFlushError: (error) =>
        logger.warn({ err: error }, 'writing poll times failed; they are kept for the next try'),
      ...(inspection ? { onTransition: inspection.onTransition } : {}),
    });
    // Pushed before every surface, so it runs after they all stopped: the last poll times land.
    closers.push({ name: 'poll-times', close: () => service.flushContacts() });
    // Only at debug level: a listener makes the service build every event for every report.
    if (config.logLevel === 'debug')
      service.onEvent((event) => logger.debug({ event }, 'domain event'));

    // Rollouts are evaluated by one backend at a time (a lease in the store), on an interval and
    // soon after a rollout's action ends; stopped before the surfaces that feed it close.
    const rollouts = new RolloutEngine({
      service,
      logger: logger.child({ component: 'rollouts' }),
      intervalMs: config.rolloutInterval,
      approvalEnabled: () => config.rolloutApproval,
      assignable: (set) => requireAssignableSet(service, set),
      compatible: (set) => compatibleTargets(service, set),
    });
    rollouts.start();
    closers.push({ name: 'rollouts', close: () => rollouts.close() });

    // The catalogue in the store says which artifacts exist; the directory holds only bytes.
    const artifacts = await ArtifactStore.open(options.artifactsDir ?? artifactsDirOf(config), {
      catalogue: store,
    });
    closers.push({ name: 'artifacts', close: () => artifacts.close() });
    const swept = await artifacts.sweep();
    if (swept.staged + swept.orphans > 0)
      logger.info(swept, 'removed unfinished uploads and artifacts no module names');

    // ------------------------------------------------------------ MQTT broker
    let mqttUrl = config.mqttUrl;
    let embeddedBroker = false;
    let commanderLogin: { username: string; password: string } | undefined;
    const commanderClientId = config.mqttClientId ?? `otaflow-commander-${config.tenant}`;
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
    const extra = options.handlers ?? [];
    const server = createHttpServer(config, logger, (req, res) => {
      void dispatch(req, res);
    });
    const dispatch = async (req: http.IncomingMessage, res: http.ServerResponse) => {
      try {
        const path = pathOf(req.url);
        const handler = routes && routeByPrefix(routes, path);
        if (handler && (await handler.handle(req, res))) return;
        for (const more of extra) if (await more.handle(req, res)) return;
        sendJson(res, 404, springError(404, path));
      } catch (error) {
        logger.error({ err: error, method: req.method, url: req.url }, 'request failed');
        if (!res.headersSent) sendJson(res, 500, springError(500, pathOf(req.url)));
        else res.destroy();
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
    const ddiAuth = ddiAuthOf(config);
    if (ddiAuth.anonymous)
      logger.warn(
        'DDI and /artifacts/ downloads need no credentials: set --target-token-auth or --gateway-token',
      );
    const downloads = createDownloads({
      service,
      artifacts,
      signer: createDownloadSigner({
        ttlSeconds: config.downloadUrlTtl,
        ...(config.downloadSecret === undefined ? {} : { secret: config.downloadSecret }),
      }),
      user: config.user,
      password: config.password,
      ddi: ddiAuth,
      logger: logger.child({ component: 'downloads' }),
    });
    // MQTT devices and SIE consumers get links they can use without headers.
    const artifactUrl = (moduleId: number, filename: string) =>
      downloads.signedUrl(url, moduleId, filename);

    const context: IntegrationContext = { config, service, artifacts, logger };
    // The platform sends no headers of ours: the callback URL it was given carries the secret.
    const huaweiCallbackSecret =
      config.huaweiCallbackSecret ?? randomBytes(32).toString('base64url');
    const huaweiCallbackUrl = `${url}${DEFAULT_RECEIVER_PATH}?secret=${encodeURIComponent(huaweiCallbackSecret)}`;
    const huaweiReceiver = createHuaweiReceiver({
      service,
      path: DEFAULT_RECEIVER_PATH,
      secret: huaweiCallbackSecret,
      logger: logger.child({ component: 'huawei' }),
    });
    const auth = createBasicAuth({
      user: config.user,
      password: config.password,
      authMaxFailures: config.mgmtAuthFailures,
      authWindowMs: config.mgmtAuthWindow * 1000,
    });
    const events = createEventStream({
      ...options.events,
      service,
      authenticate: auth,
      tenant: config.tenant,
    });
    // Pushed after the HTTP server, so it runs before it: streams end cleanly, then sockets close.
    closers.push({ name: 'events', close: () => events.close() });
    routes = {
      health: healthHandler(() => ready),
      events,
      console: createConsoleHandler(options.consoleDir),
      management: createManagementApi({
        service,
        artifacts,
        user: config.user,
        password: config.password,
        auth,
        tenant: config.tenant,
        maxArtifactBytes: config.maxArtifactBytes,
        logger: logger.child({ component: 'mgmt' }),
        ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
        ...(options.strictApiDocs ? { strictDocs: true } : {}),
        rollouts,
      }),
      docs: createApiDocs({ routes: MANAGEMENT_ROUTES }),
      ddi: (options.ddi ?? mountDdi)(context),
      huaweiPath: huaweiReceiver.path,
      huawei: huaweiReceiver,
      artifacts: downloads,
    };

    // ------------------------------------------------------------ IoT Hub commander
    const commander = createCommander({
      url: mqttUrl,
      service,
      tenant: config.tenant,
      artifactUrl: (module, artifact) => artifactUrl(module.id, artifact.filename),
      logger: logger.child({ component: 'iothub' }),
      clientId: commanderClientId,
      ...(config.mqttSharedGroup ? { sharedGroup: config.mqttSharedGroup } : {}),
      ...(commanderLogin ? { mqttOptions: commanderLogin } : {}),
      // Session and flow control (MQTT 5, large receive maximum, persistent session, 3.1.1
      // fallback for the embedded aedes) are the commander's own business.
    });
    closers.push({ name: 'commander', close: () => commander.stop() });
    await withTimeout(
      commander.start(),
      options.mqttConnectTimeoutMs ?? 10_000,
      `MQTT broker ${redact(mqttUrl)} not reachable`,
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
      await dispatcher.attach(service);
      closers.push({ name: 'huawei-dispatcher', close: () => dispatcher?.stop() });
    }

    // ------------------------------------------------------------ SIE
    let sie: SiePublisher | undefined;
    if (config.amqpUrl) {
      const publisher = createSiePublisher({
        url: config.amqpUrl,
        tenant: config.tenant,
        exchange: config.sieExchange,
        queue: config.sieQueue,
        bufferSize: config.sieBuffer,
        logger: logger.child({ component: 'sie' }),
        artifactUrls: (module, artifact) => ({
          HTTP: artifactUrl(module.moduleId, artifact.filename),
        }),
      });
      try {
        await publisher.start({ timeoutMs: options.amqpConnectTimeoutMs ?? 5000 });
        const detach = publisher.attach(service);
        closers.push({
          name: 'sie',
          close: async () => {
            detach();
            await publisher.close();
          },
        });
        sie = publisher;
      } catch (error) {
        logger.warn(
          { amqpUrl: redact(config.amqpUrl), err: error },
          'running without SIE: AMQP broker not reachable',
        );
        await publisher.close().catch(() => {});
      }
    } else {
      logger.info('running without SIE: no AMQP_URL given');
    }

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
      close() {
        ready = false;
        closing ??= closeAll();
        return closing;
      },
    };
    logger.info(
      {
        url,
        mqttUrl: redact(mqttUrl),
        embeddedBroker,
        tenant: config.tenant,
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
 * The DDI handler from @otaflow/ddi-http. Polling devices register themselves (hawkBit's
 * behaviour); without target-token or gateway auth configured, devices are let in anonymously,
 * which suits the demo and loopback use; turn on `--target-token-auth` elsewhere.
 */
function mountDdi({ config, service, artifacts, logger }: IntegrationContext): HttpHandler {
  const options: DdiServerOptions = {
    service,
    tenant: config.tenant,
    artifacts,
    auth: ddiAuthOf(config),
    autoRegister: true,
    pollingSleep: config.ddiPollingSleep,
    registrationLimit:
      config.ddiRegistrationRate > 0
        ? { burst: config.ddiRegistrationBurst, perSecond: config.ddiRegistrationRate }
        : false,
    logger: logger.child({ component: 'ddi' }),
  };
  if (config.publicUrl !== undefined) options.publicBaseUrl = config.publicUrl;
  return createDdiServer(options);
}

/**
 * How DDI lets devices in. Anonymous exactly when neither token kind is configured; `/artifacts/`
 * then serves unsigned downloads too, since any caller could fetch the same bytes over DDI.
 */
function ddiAuthOf(config: BackendConfig): DdiAuthOptions {
  const auth: DdiAuthOptions = {
    targetToken: config.targetTokenAuth,
    anonymous: !config.targetTokenAuth && config.gatewayToken === undefined,
  };
  if (config.gatewayToken !== undefined) auth.gatewayToken = config.gatewayToken;
  return auth;
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
  if (path === EVENTS_PATH) return routes.events;
  if (path === '/ui' || path.startsWith(CONSOLE_PATH)) return routes.console;
  if (path === routes.huaweiPath) return routes.huawei;
  const slash = path.indexOf('/', 1);
  if (slash > 1 && path.startsWith('/controller/', slash)) return routes.ddi;
  return undefined;
}

function healthHandler(isReady: () => boolean): HttpHandler {
  return {
    async handle(req, res) {
      const path = pathOf(req.url);
      if (path === '/livez') {
        sendJson(res, 200, { status: 'UP' });
        return true;
      }
      if (path === '/readyz') {
        const up = isReady();
        sendJson(res, up ? 200 : 503, { status: up ? 'UP' : 'DOWN' });
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
