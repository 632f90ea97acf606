import http from 'node:http';
import net from 'node:net';
import { MemoryUpdateStore, UpdateService, type UpdateStore } from '@otaflow/core';
import {
  createDdiServer,
  type DdiAuthOptions,
  type DdiServerOptions,
  sendJson,
  serveArtifact,
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
import { Aedes } from 'aedes';
import { ArtifactStore } from './ArtifactStore.js';
import type { BackendConfig } from './config.js';
import type { HttpHandler } from './http.js';
import { type Inspection, startInspection } from './inspection.js';
import { createLogger, type Logger } from './logger.js';
import { createManagementApi } from './management/createManagementApi.js';
import { MGMT_BASE } from './management/representations.js';

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
  /** Where targets, actions and the catalogue live; in memory by default. */
  store?: UpdateStore;
  /** Replaces the DDI handler (default: @otaflow/ddi-http's `createDdiServer`). */
  ddi?: (context: IntegrationContext) => HttpHandler;
  /** More handlers, tried in turn for what no built-in path prefix claims. */
  handlers?: HttpHandler[];
  /** How long to wait for the MQTT broker at start (default 10 s). */
  mqttConnectTimeoutMs?: number;
  /** How long to wait for the AMQP broker at start before running without SIE (default 5 s). */
  amqpConnectTimeoutMs?: number;
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

    const service = new UpdateService({
      store: options.store ?? new MemoryUpdateStore(),
      onListenerError: (error, event) =>
        logger.warn({ event: event.type, err: error }, 'domain event listener failed'),
      ...(inspection ? { onTransition: inspection.onTransition } : {}),
    });
    service.onEvent((event) => logger.debug({ event }, 'domain event'));

    const artifacts = await ArtifactStore.open(config.dataDir);
    closers.push({ name: 'artifacts', close: () => artifacts.close() });

    // ------------------------------------------------------------ MQTT broker
    let mqttUrl = config.mqttUrl;
    let embeddedBroker = false;
    if (!mqttUrl) {
      const broker = await startEmbeddedBroker();
      closers.push({ name: 'mqtt-broker', close: broker.close });
      mqttUrl = broker.url;
      embeddedBroker = true;
      logger.info({ mqttUrl }, 'embedded MQTT broker started');
    }

    // ------------------------------------------------------------ HTTP
    let ready = false;
    // Filled in below, once the server's URL is known; nothing is routed before `listen`.
    let routes: PrefixRoutes | undefined;
    const extra = options.handlers ?? [];
    const server = http.createServer((req, res) => {
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
    server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    });
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
    const artifactUrl = (moduleId: number, filename: string) =>
      `${url}/artifacts/${moduleId}/${encodeURIComponent(filename)}`;

    const context: IntegrationContext = { config, service, artifacts, logger };
    const huaweiReceiver = createHuaweiReceiver({
      service,
      path: DEFAULT_RECEIVER_PATH,
      logger: logger.child({ component: 'huawei' }),
    });
    routes = {
      health: healthHandler(() => ready),
      management: createManagementApi({
        service,
        artifacts,
        user: config.user,
        password: config.password,
        tenant: config.tenant,
        maxArtifactBytes: config.maxArtifactBytes,
        logger: logger.child({ component: 'mgmt' }),
        ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
      }),
      ddi: (options.ddi ?? mountDdi)(context),
      huaweiPath: huaweiReceiver.path,
      huawei: huaweiReceiver,
      artifacts: artifactDownloads(artifacts),
    };

    // ------------------------------------------------------------ IoT Hub commander
    const commander = createCommander({
      url: mqttUrl,
      service,
      tenant: config.tenant,
      artifactUrl: (module, artifact) => artifactUrl(module.id, artifact.filename),
      logger: logger.child({ component: 'iothub' }),
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
        callbackUrl: `${url}${huaweiReceiver.path}`,
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
        managementApi: `${url}/rest/v1`,
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
  const auth: DdiAuthOptions = {
    targetToken: config.targetTokenAuth,
    anonymous: !config.targetTokenAuth && config.gatewayToken === undefined,
  };
  if (config.gatewayToken !== undefined) auth.gatewayToken = config.gatewayToken;
  const options: DdiServerOptions = {
    service,
    tenant: config.tenant,
    artifacts,
    auth,
    autoRegister: true,
    pollingSleep: config.ddiPollingSleep,
    logger: logger.child({ component: 'ddi' }),
  };
  if (config.publicUrl !== undefined) options.publicBaseUrl = config.publicUrl;
  return createDdiServer(options);
}

/** The handlers the backend routes to by path prefix. */
interface PrefixRoutes {
  health: HttpHandler;
  management: HttpHandler;
  ddi: HttpHandler;
  huaweiPath: string;
  huawei: HttpHandler;
  artifacts: HttpHandler;
}

/** The request path without its query. */
function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const end = url.indexOf('?');
  return end < 0 ? url : url.slice(0, end);
}

/**
 * The one handler a path belongs to, decided once by its prefix: `/rest/v1/` (Management API),
 * `/{tenant}/controller/` (DDI), `/artifacts/`, the Huawei receiver's path, `/livez`, `/readyz`.
 * Undefined for anything else, which `options.handlers` may still claim.
 */
export function routeByPrefix(routes: PrefixRoutes, path: string): HttpHandler | undefined {
  if (path === MGMT_BASE || path.startsWith(`${MGMT_BASE}/`)) return routes.management;
  if (path.startsWith('/artifacts/')) return routes.artifacts;
  if (path === '/livez' || path === '/readyz') return routes.health;
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

/**
 * `GET|HEAD /artifacts/{moduleId}/{filename}`: downloads for devices that are not DDI devices,
 * such as MQTT devices, whose install command carries the URL. Served by ddi-http's
 * `serveArtifact`, as DDI and the Management API serve theirs (ranges, If-Range, If-Match).
 */
function artifactDownloads(artifacts: ArtifactStore): HttpHandler {
  return {
    async handle(req, res) {
      const path = pathOf(req.url);
      const match = /^\/artifacts\/(\d+)\/([^/]+)$/.exec(path);
      if (!match) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(res, 405, springError(405, path), { headers: { Allow: 'GET, HEAD' } });
        return true;
      }
      let filename: string;
      try {
        filename = decodeURIComponent(match[2] ?? '');
      } catch {
        sendJson(res, 400, springError(400, path));
        return true;
      }
      const moduleId = Number(match[1]);
      const stored = await artifacts.stat(moduleId, filename);
      if (!stored) {
        sendJson(res, 404, springError(404, path));
        return true;
      }
      const served = { moduleId, filename, size: stored.size, sha1: stored.hashes.sha1 };
      await serveArtifact(
        req,
        res,
        stored.lastModified === undefined
          ? served
          : { ...served, lastModified: stored.lastModified },
        artifacts,
      );
      return true;
    },
  };
}

/** An aedes broker on a free loopback port, so the backend needs no MQTT service. */
async function startEmbeddedBroker(): Promise<{ url: string; close: () => Promise<void> }> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
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
