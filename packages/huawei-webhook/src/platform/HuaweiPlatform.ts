import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, silentLogger } from '@otaflow/core';
import { HuaweiError } from '../HuaweiError.js';
import type { TlsClientOptions } from '../httpRequest.js';
import type { HuaweiNotification, HuaweiNotifyType } from '../notifications.js';
import { readBody } from '../readBody.js';
import type { SubOperationInfo, UpgradeTask } from '../upgradeTasks.js';
import { type DeviceBehaviour, DeviceSimulation } from './DeviceSimulation.js';
import {
  type DeliveryOptions,
  type DeliveryRecord,
  NotificationDelivery,
} from './NotificationDelivery.js';
import { handleNorthbound, issueTokens, type NorthboundAnswer } from './northboundApi.js';
import { createPlatformState, isTaskOpen, type PlatformState } from './PlatformState.js';
import { subTaskView, taskView } from './taskViews.js';

/** The largest northbound request body the stand-in reads; default 1 MiB. */
export const DEFAULT_PLATFORM_BODY_LIMIT = 1024 * 1024;

export interface HuaweiPlatformOptions {
  /** The one application this platform serves; defaults `otaflow-app` / `otaflow-secret`. */
  appId?: string;
  secret?: string;
  host?: string;
  port?: number;
  tokenTtlSeconds?: number;
  /** Defaults for every device: 20 ms before the first state, 20 ms between states. */
  startDelayMs?: number;
  stepDelayMs?: number;
  devices?: Record<string, DeviceBehaviour>;
  /**
   * Known version packages (`fileId` -> version). Without any, every fileId is accepted and is
   * its own target version.
   */
  packages?: Record<string, { version: string }>;
  delivery?: DeliveryOptions;
  /** Trust for HTTPS callbacks (the CA of the receiver's certificate) and an optional client cert. */
  callbackTls?: TlsClientOptions;
  /** Send `upgradeTime` as a number, as the Chinese pages type it; default a string. */
  numericUpgradeTime?: boolean;
  /** Largest northbound request body; default 1 MiB. */
  bodyLimit?: number;
  /** Any pino-compatible logger; default silent. */
  logger?: Logger;
}

/**
 * A stand-in for the Huawei IoT platform (OceanConnect) northbound side, for tests and the demo.
 * It puts three parts on one plain-HTTP server on 127.0.0.1: the northbound API (login, the
 * management-data subscription, batch upgrade tasks), the simulated devices, and the delivery
 * of their pushes with the platform's retry and blacklist behaviour.
 */
export class HuaweiPlatform {
  readonly appId: string;
  readonly secret: string;
  readonly #options: HuaweiPlatformOptions;
  readonly #state: PlatformState;
  readonly #devices: DeviceSimulation;
  readonly #delivery: NotificationDelivery;
  readonly #log: Logger;
  readonly #server: http.Server;
  #url: string | undefined;

  constructor(options: HuaweiPlatformOptions = {}) {
    this.#options = options;
    this.#log = options.logger ?? silentLogger;
    this.#state = createPlatformState(options);
    this.appId = this.#state.appId;
    this.secret = this.#state.secret;
    this.#delivery = new NotificationDelivery({
      ...options.delivery,
      tls: options.callbackTls,
      logger: this.#log,
    });
    this.#devices = new DeviceSimulation({
      appId: this.appId,
      ...(options.devices ? { devices: options.devices } : {}),
      ...(options.startDelayMs !== undefined ? { startDelayMs: options.startDelayMs } : {}),
      ...(options.stepDelayMs !== undefined ? { stepDelayMs: options.stepDelayMs } : {}),
      numericUpgradeTime: options.numericUpgradeTime ?? false,
      notify: (notification) => this.#notify(notification),
      logger: this.#log,
    });
    this.#server = http.createServer((req, res) => this.#serve(req, res));
  }

  /** Base URL, e.g. `http://127.0.0.1:40123`, once started. */
  get url(): string {
    if (!this.#url) throw new HuaweiError('NOT_STARTED', 'the platform is not started');
    return this.#url;
  }

  async start(): Promise<this> {
    const host = this.#options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port ?? 0, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.#server.address() as AddressInfo;
    this.#url = `http://${host}:${port}`;
    return this;
  }

  /** Stops the simulation and every pending push, then the server. */
  async close(): Promise<void> {
    await Promise.allSettled([this.#devices.close(), this.#delivery.close()]);
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  /** Sets how a device behaves in its next upgrades. */
  setDevice(deviceId: string, behaviour: DeviceBehaviour): void {
    this.#devices.setDevice(deviceId, behaviour);
  }

  /** The version a device runs now. */
  deviceVersion(deviceId: string): string {
    return this.#devices.deviceVersion(deviceId);
  }

  /** Logs in as the application, as a client would; handy in tests. */
  issueToken(): string {
    return issueTokens(this.#state).accessToken;
  }

  subscriptions(): ReadonlyMap<HuaweiNotifyType, string> {
    return this.#state.subscriptions;
  }

  /** Every push attempt so far, in order. */
  get deliveries(): readonly DeliveryRecord[] {
    return this.#delivery.deliveries;
  }

  /** Messages given up on (older than `messageTtlMs`). */
  get dropped(): readonly HuaweiNotification[] {
    return this.#delivery.dropped;
  }

  /** Whether the callback host of `url` is set aside after consecutive failures. */
  isBlacklisted(url: string): boolean {
    return this.#delivery.isBlacklisted(url);
  }

  getTask(operationId: string): UpgradeTask | undefined {
    const task = this.#state.tasks.get(operationId);
    return task && taskView(task);
  }

  getSubTasks(operationId: string): SubOperationInfo[] {
    const task = this.#state.tasks.get(operationId);
    return task ? task.subs.map((sub) => subTaskView(task, sub)) : [];
  }

  /** Resolves once every task is finished and every push delivered or dropped. */
  async settled(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#isSettled()) {
      if (Date.now() > deadline)
        throw new HuaweiError('PLATFORM_ERROR', 'platform did not settle in time');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  #isSettled(): boolean {
    for (const task of this.#state.tasks.values()) if (isTaskOpen(task)) return false;
    return this.#delivery.idle;
  }

  /** A device's push goes to the application's callback for its type, if there is one. */
  #notify(notification: HuaweiNotification): void {
    const url = this.#state.subscriptions.get(notification.notifyType);
    if (url) this.#delivery.enqueue(url, notification);
  }

  #serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const limit = this.#options.bodyLimit ?? DEFAULT_PLATFORM_BODY_LIMIT;
    readBody(req, limit, {
      body: (body) => {
        try {
          const url = new URL(req.url ?? '/', 'http://platform');
          const answer = handleNorthbound(
            this.#state,
            {
              method: req.method ?? 'GET',
              path: url.pathname,
              query: url.searchParams,
              headers: req.headers,
              body: body.toString('utf8'),
            },
            (task) => this.#devices.start(task),
          );
          reply(res, answer);
        } catch (error) {
          this.#log.error({ err: error }, 'platform request failed');
          reply(res, {
            status: 500,
            body: { error_code: '100001', error_desc: 'Internal server error.' },
          });
        }
      },
      tooLarge: (bytes) => {
        const desc = `Bad request: the body is larger than ${bytes} bytes.`;
        // The rest of the body stays unread: the connection goes with the answer.
        reply(res, { status: 413, body: { error_code: '120015', error_desc: desc } }, true);
      },
      failed: (error) => {
        this.#log.warn({ err: error }, 'platform request not read');
        if (!res.headersSent) res.destroy();
      },
    });
  }
}

/** Starts a platform stand-in on 127.0.0.1. */
export function createHuaweiPlatform(options: HuaweiPlatformOptions = {}): Promise<HuaweiPlatform> {
  return new HuaweiPlatform(options).start();
}

function reply(res: http.ServerResponse, answer: NorthboundAnswer, close = false): void {
  const { status, body } = answer;
  const connection: Record<string, string> = close ? { connection: 'close' } : {};
  if (body === undefined) {
    res.writeHead(status, { 'content-length': '0', ...connection });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...connection,
  });
  res.end(text);
}
