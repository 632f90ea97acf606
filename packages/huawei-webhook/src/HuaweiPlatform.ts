import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HuaweiError } from './HuaweiError.js';
import { type HttpResponse, httpRequest, type TlsClientOptions } from './httpRequest.js';
import { type HuaweiLogger, silentLogger } from './logger.js';
import type { HuaweiNotification, HuaweiNotifyType } from './notifications.js';
import { callbackUrlOf, isValidCallbackUrl, SubscribeRequest } from './subscription.js';
import {
  CreateUpgradeTaskRequest,
  type OperationStaResult,
  platformTime,
  type SubOperationInfo,
  type SubTaskStatus,
  type TaskStatus,
  UPGRADE_API_BASE,
  type UpgradeTask,
  type UpgradeType,
} from './upgradeTasks.js';

export const LOGIN_PATH = '/iocm/app/sec/v1.1.0/login';
export const REFRESH_TOKEN_PATH = '/iocm/app/sec/v1.1.0/refreshToken';
export const SUBSCRIBE_PATH = '/iodm/app/sub/v1.1.0/subscribe';

/** A simulated device's next upgrade. */
export interface DeviceBehaviour {
  /** Default `success`. */
  outcome?: 'success' | 'failure';
  /** With `failure`: the last state the device reaches before it fails; default `updating`. */
  failAt?: 'downloading' | 'downloaded' | 'updating';
  /** Reported in `errorCode` / `description` (software) or `statusDesc` (firmware) on failure. */
  errorCode?: string;
  description?: string;
  /** Delay before the first state, and between states; default the platform's. */
  startDelayMs?: number;
  stepDelayMs?: number;
  /** The version the device runs before its first upgrade; default `1.0`. */
  currentVersion?: string;
}

/** The platform's push behaviour; every number is configurable so tests run in milliseconds. */
export interface DeliveryOptions {
  /** A push not answered within this is a failure; default 15 000 ms. */
  timeoutMs?: number;
  /** Pause before pushing a failed message again; default 1 000 ms. */
  retryIntervalMs?: number;
  /** A message not delivered within this is dropped; default 10 min. */
  messageTtlMs?: number;
  /** Consecutive failures after which the callback host is set aside; default 10. */
  blacklistAfter?: number;
  /** How long a set-aside host waits before one probing push; default 3 min. */
  probeIntervalMs?: number;
}

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
  logger?: HuaweiLogger;
}

/** One push attempt, as the platform saw it. */
export interface DeliveryRecord {
  url: string;
  notifyType: HuaweiNotifyType;
  body: string;
  attempt: number;
  at: number;
  status?: number;
  error?: string;
  ok: boolean;
}

interface SubTask {
  subOperationId: string;
  deviceId: string;
  status: SubTaskStatus;
  createTime: number;
  startTime?: number;
  stopTime?: number;
  detailInfo: Record<string, unknown>;
}

interface Task {
  operationId: string;
  type: UpgradeType;
  fileId: string;
  targetVersion: string;
  request: CreateUpgradeTaskRequest;
  status: TaskStatus;
  createTime: number;
  startTime?: number;
  stopTime?: number;
  subs: SubTask[];
}

interface Pending {
  url: string;
  notification: HuaweiNotification;
  body: string;
  enqueuedAt: number;
  attempts: number;
}

interface HostQueue {
  items: Pending[];
  failures: number;
  blacklistedUntil: number | undefined;
  running: boolean;
  timer: NodeJS.Timeout | undefined;
}

class ApiError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly desc: string,
  ) {}
}

const SW_STATES = ['downloading', 'downloaded', 'updating', 'idle'] as const;
const FW_STEP_OF = { idle: '0', downloading: '1', downloaded: '2', updating: '3' } as const;

/**
 * A stand-in for the Huawei IoT platform (OceanConnect) northbound side, for tests and the demo:
 * login, the management-data subscription, batch upgrade tasks, simulated devices, and pushes with
 * the platform's retry and blacklist behaviour. Serves plain HTTP on 127.0.0.1.
 */
export class HuaweiPlatform {
  readonly appId: string;
  readonly secret: string;
  readonly #options: HuaweiPlatformOptions;
  readonly #delivery: Required<DeliveryOptions>;
  readonly #log: HuaweiLogger;
  readonly #server: http.Server;
  #url: string | undefined;
  #accessToken: string | undefined;
  #refreshToken: string | undefined;
  readonly #subscriptions = new Map<HuaweiNotifyType, string>();
  readonly #devices = new Map<string, DeviceBehaviour>();
  readonly #versions = new Map<string, string>();
  readonly #tasks = new Map<string, Task>();
  readonly #hosts = new Map<string, HostQueue>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #running = new Set<Promise<void>>();
  readonly #deliveries: DeliveryRecord[] = [];
  readonly #dropped: Pending[] = [];
  #closed = false;

  constructor(options: HuaweiPlatformOptions = {}) {
    this.#options = options;
    this.appId = options.appId ?? 'otaflow-app';
    this.secret = options.secret ?? 'otaflow-secret';
    this.#log = options.logger ?? silentLogger;
    this.#delivery = {
      timeoutMs: options.delivery?.timeoutMs ?? 15_000,
      retryIntervalMs: options.delivery?.retryIntervalMs ?? 1_000,
      messageTtlMs: options.delivery?.messageTtlMs ?? 10 * 60_000,
      blacklistAfter: options.delivery?.blacklistAfter ?? 10,
      probeIntervalMs: options.delivery?.probeIntervalMs ?? 3 * 60_000,
    };
    for (const [id, behaviour] of Object.entries(options.devices ?? {}))
      this.#devices.set(id, behaviour);
    this.#server = http.createServer((req, res) => {
      this.#route(req, res).catch((error) => {
        this.#log.error?.('platform request failed', { error: String(error) });
        if (!res.headersSent)
          reply(res, 500, { error_code: '100001', error_desc: 'Internal server error.' });
      });
    });
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
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const host of this.#hosts.values()) if (host.timer) clearTimeout(host.timer);
    await Promise.allSettled([...this.#running]);
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  /** Sets how a device behaves in its next upgrades. */
  setDevice(deviceId: string, behaviour: DeviceBehaviour): void {
    this.#devices.set(deviceId, behaviour);
  }

  /** The version a device runs now. */
  deviceVersion(deviceId: string): string {
    return this.#versions.get(deviceId) ?? this.#devices.get(deviceId)?.currentVersion ?? '1.0';
  }

  /** Logs in as the application, as a client would; handy in tests. */
  issueToken(): string {
    this.#accessToken = randomBytes(16).toString('hex');
    this.#refreshToken = randomBytes(16).toString('hex');
    return this.#accessToken;
  }

  subscriptions(): ReadonlyMap<HuaweiNotifyType, string> {
    return this.#subscriptions;
  }

  /** Every push attempt so far, in order. */
  get deliveries(): readonly DeliveryRecord[] {
    return this.#deliveries;
  }

  /** Messages given up on (older than `messageTtlMs`). */
  get dropped(): readonly HuaweiNotification[] {
    return this.#dropped.map((p) => p.notification);
  }

  /** Whether the callback host of `url` is set aside after consecutive failures. */
  isBlacklisted(url: string): boolean {
    const host = this.#hosts.get(new URL(url).origin);
    return host?.blacklistedUntil !== undefined;
  }

  getTask(operationId: string): UpgradeTask | undefined {
    const task = this.#tasks.get(operationId);
    return task && taskDto(task);
  }

  getSubTasks(operationId: string): SubOperationInfo[] {
    const task = this.#tasks.get(operationId);
    return task ? task.subs.map((sub) => subDto(task, sub)) : [];
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
    for (const task of this.#tasks.values())
      if (task.status === 'wait' || task.status === 'processing') return false;
    for (const host of this.#hosts.values())
      if (host.items.length > 0 || host.running) return false;
    return true;
  }

  // ------------------------------------------------------------------ northbound API

  async #route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://platform');
    const body = await readAll(req);
    try {
      const answer = await this.#dispatch(req, url, body);
      reply(res, answer.status, answer.body);
    } catch (error) {
      if (error instanceof ApiError) {
        reply(res, error.status, { error_code: error.code, error_desc: error.desc });
        return;
      }
      throw error;
    }
  }

  async #dispatch(
    req: http.IncomingMessage,
    url: URL,
    raw: string,
  ): Promise<{ status: number; body?: unknown }> {
    const path = url.pathname;
    if (req.method === 'POST' && path === LOGIN_PATH) return this.#login(req, raw);
    if (req.method === 'POST' && path === REFRESH_TOKEN_PATH) return this.#refresh(raw);
    this.#authorize(req);
    if (req.method === 'POST' && path === SUBSCRIBE_PATH) return this.#subscribe(parseJson(raw));
    const prefix = `${UPGRADE_API_BASE}/operations`;
    if (req.method === 'POST' && path === `${prefix}/softwareUpgrade`)
      return this.#createTask('software', parseJson(raw));
    if (req.method === 'POST' && path === `${prefix}/firmwareUpgrade`)
      return this.#createTask('firmware', parseJson(raw));
    if (req.method === 'GET' && path === prefix)
      return { status: 200, body: this.#listTasks(url.searchParams) };
    const match = /^\/iodm\/northbound\/v1\.5\.0\/operations\/([^/]+)(\/subOperations)?$/.exec(
      path,
    );
    if (req.method === 'GET' && match) {
      const task = this.#tasks.get(decodeURIComponent(match[1] as string));
      if (!task) throw new ApiError(404, '123002', 'The upgrade task does not exist.');
      if (!match[2]) return { status: 200, body: taskDto(task) };
      return { status: 200, body: this.#subTaskPage(task, url.searchParams) };
    }
    throw new ApiError(404, '100403', `no API at ${req.method} ${path}`);
  }

  #login(req: http.IncomingMessage, raw: string): { status: number; body: unknown } {
    const type = req.headers['content-type'] ?? '';
    const fields: Record<string, unknown> = type.includes('json')
      ? (parseJson(raw) as Record<string, unknown>)
      : Object.fromEntries(new URLSearchParams(raw));
    if (fields.appId !== this.appId || fields.secret !== this.secret) {
      throw new ApiError(401, '100208', 'AppId or secret is not right.');
    }
    return { status: 200, body: this.#tokens() };
  }

  #refresh(raw: string): { status: number; body: unknown } {
    const fields = parseJson(raw) as Record<string, unknown>;
    if (
      fields.appId !== this.appId ||
      fields.secret !== this.secret ||
      fields.refreshToken !== this.#refreshToken
    ) {
      throw new ApiError(401, '100208', 'AppId, secret or refreshToken is not right.');
    }
    return { status: 200, body: this.#tokens() };
  }

  #tokens() {
    // Only the last token is valid, as the platform documents.
    const accessToken = this.issueToken();
    return {
      scope: 'default',
      tokenType: 'bearer',
      expiresIn: this.#options.tokenTtlSeconds ?? 3600,
      accessToken,
      refreshToken: this.#refreshToken,
    };
  }

  #authorize(req: http.IncomingMessage): void {
    const bearer = req.headers.authorization;
    const ok =
      req.headers.app_key === this.appId &&
      this.#accessToken !== undefined &&
      bearer !== undefined &&
      bearer.replace(/^bearer\s+/i, '') === this.#accessToken;
    if (!ok) throw new ApiError(401, '1010005', 'App_key or access_token is invalid.');
  }

  #subscribe(body: unknown): { status: number } {
    const raw = body as Record<string, unknown> | null;
    const url = raw && typeof raw === 'object' ? (raw.callbackUrl ?? raw.callbackurl) : undefined;
    if (typeof url === 'string' && !isValidCallbackUrl(url)) {
      throw new ApiError(400, '100222', 'Internal server error. The callback URL is invalid.');
    }
    const parsed = SubscribeRequest.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') ?? '';
      if (field.startsWith('callback'))
        throw new ApiError(400, '100222', `Internal server error. ${issue?.message}`);
      throw new ApiError(
        400,
        '100228',
        `The application input is invalid: ${field} ${issue?.message}`,
      );
    }
    // One callback per notifyType for the application: a new subscription replaces the old one.
    this.#subscriptions.set(parsed.data.notifyType, callbackUrlOf(parsed.data));
    return { status: 200 };
  }

  #createTask(type: UpgradeType, body: unknown): { status: number; body: unknown } {
    const parsed = CreateUpgradeTaskRequest.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      if (issue?.path.join('.') === 'policy.executeType')
        throw new ApiError(400, '123025', 'executeType is invalid.');
      throw new ApiError(400, '120015', `Bad request: ${issue?.path.join('.')} ${issue?.message}`);
    }
    const request = parsed.data;
    const { devices, deviceGroups } = request.targets;
    const hasDevices = devices !== undefined && devices.length > 0;
    const hasGroups = deviceGroups !== undefined && deviceGroups.length > 0;
    if (!hasDevices && !hasGroups)
      throw new ApiError(400, '123022', 'deviceGroups and devices cannot be null together.');
    if (hasDevices && hasGroups)
      throw new ApiError(400, '123023', 'deviceGroups and devices cannot be both set.');
    if (hasGroups)
      throw new ApiError(
        400,
        '120015',
        'Bad request: device groups are not simulated by this stand-in.',
      );
    if ((devices as string[]).length > 256)
      throw new ApiError(400, '123024', 'devices cannot exceed 256.');
    const policy = request.policy;
    if (
      policy?.retryType &&
      (policy.retryTimes === undefined || policy.retryTimes < 1 || policy.retryTimes > 5)
    ) {
      throw new ApiError(400, '123028', 'retryTimes cannot be less than 1 or greater than 5.');
    }
    const packages = this.#options.packages;
    const known = packages?.[request.fileId];
    if (packages && !known)
      throw new ApiError(
        400,
        '120015',
        `Bad request: version package ${request.fileId} not found.`,
      );
    const now = Date.now();
    const task: Task = {
      operationId: randomUUID().replace(/-/g, ''),
      type,
      fileId: request.fileId,
      targetVersion: known?.version ?? request.fileId,
      request,
      status: 'wait',
      createTime: now,
      subs: [...new Set(devices as string[])].map((deviceId) => ({
        subOperationId: randomUUID().replace(/-/g, ''),
        deviceId,
        status: 'wait',
        createTime: now,
        detailInfo: {},
      })),
    };
    this.#tasks.set(task.operationId, task);
    for (const sub of task.subs) this.#track(this.#runDevice(task, sub));
    return { status: 200, body: { operationId: task.operationId } };
  }

  #listTasks(query: URLSearchParams) {
    let tasks = [...this.#tasks.values()];
    const type = query.get('operationType');
    const status = query.get('operationStatus');
    const deviceId = query.get('deviceId');
    if (type) tasks = tasks.filter((t) => operateType(t) === type);
    if (status) tasks = tasks.filter((t) => t.status === status);
    if (deviceId) tasks = tasks.filter((t) => t.subs.some((s) => s.deviceId === deviceId));
    return page(tasks.map(taskDto), query);
  }

  #subTaskPage(task: Task, query: URLSearchParams) {
    const status = query.get('subOperationStatus');
    const subs = task.subs
      .filter((s) => !status || s.status === status)
      .map((s) => subDto(task, s));
    return page(subs, query);
  }

  // ------------------------------------------------------------------ simulated devices

  #track(work: Promise<void>): void {
    this.#running.add(work);
    work
      .catch((error) => this.#log.error?.('simulation failed', { error: String(error) }))
      .finally(() => this.#running.delete(work));
  }

  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.#closed) return resolve(false);
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve(!this.#closed);
      }, ms);
      this.#timers.add(timer);
    });
  }

  async #runDevice(task: Task, sub: SubTask): Promise<void> {
    const behaviour = this.#devices.get(sub.deviceId) ?? {};
    const stepDelay = behaviour.stepDelayMs ?? this.#options.stepDelayMs ?? 20;
    if (!(await this.#sleep(behaviour.startDelayMs ?? this.#options.startDelayMs ?? 20))) return;
    const started = Date.now();
    sub.status = 'processing';
    sub.startTime = started;
    if (task.status === 'wait') {
      task.status = 'processing';
      task.startTime = started;
    }
    const failing = behaviour.outcome === 'failure';
    const reached = failing
      ? SW_STATES.indexOf(behaviour.failAt ?? 'updating')
      : SW_STATES.indexOf('updating');
    const states = [...SW_STATES.slice(0, reached + 1), 'idle' as const];
    for (const state of states) {
      this.#notify(task, sub, this.#stateNotification(task, sub, state));
      if (!(await this.#sleep(stepDelay))) return;
    }
    const source = this.deviceVersion(sub.deviceId);
    if (!failing) this.#versions.set(sub.deviceId, task.targetVersion);
    sub.status = failing ? 'fail' : 'success';
    sub.stopTime = Date.now();
    sub.detailInfo = failing
      ? { errorCode: behaviour.errorCode ?? '10', description: behaviour.description ?? '' }
      : {};
    const elapsed = Math.max(1, Math.round((sub.stopTime - started) / 1000));
    this.#notify(task, sub, this.#resultNotification(task, sub, source, behaviour, elapsed));
    if (task.subs.every((s) => s.status !== 'wait' && s.status !== 'processing')) {
      task.status = task.subs.every((s) => s.status === 'success') ? 'success' : 'failed';
      task.stopTime = Date.now();
    }
  }

  #ids(task: Task, sub: SubTask) {
    return {
      deviceId: sub.deviceId,
      appId: this.appId,
      operationId: task.operationId,
      subOperationId: sub.subOperationId,
    };
  }

  #stateNotification(
    task: Task,
    sub: SubTask,
    state: (typeof SW_STATES)[number],
  ): HuaweiNotification {
    if (task.type === 'software') {
      return {
        notifyType: 'swUpgradeStateChangeNotify',
        ...this.#ids(task, sub),
        swUpgradeState: state,
      };
    }
    return {
      notifyType: 'fwUpgradeStateChangeNotify',
      ...this.#ids(task, sub),
      step: FW_STEP_OF[state],
      stepDesc: state,
    };
  }

  #resultNotification(
    task: Task,
    sub: SubTask,
    source: string,
    behaviour: DeviceBehaviour,
    seconds: number,
  ): HuaweiNotification {
    const ok = sub.status === 'success';
    const versions = {
      curVersion: ok ? task.targetVersion : source,
      targetVersion: task.targetVersion,
      sourceVersion: source,
    };
    const upgradeTime = this.#options.numericUpgradeTime ? seconds : String(seconds);
    if (task.type === 'software') {
      return {
        notifyType: 'swUpgradeResultNotify',
        ...this.#ids(task, sub),
        ...versions,
        swUpgradeResult: ok ? 'SUCCESS' : 'FAIL',
        upgradeTime,
        resultDesc: ok ? 'The device upgrade is successful.' : 'The device upgrade fails.',
        errorCode: ok ? '0' : (behaviour.errorCode ?? '10'),
        description: ok
          ? ''
          : (behaviour.description ?? `upgrade failed after ${behaviour.failAt ?? 'updating'}`),
      };
    }
    return {
      notifyType: 'fwUpgradeResultNotify',
      ...this.#ids(task, sub),
      ...versions,
      status: ok ? 'SUCCESS' : 'FAIL',
      statusDesc: ok
        ? 'The device upgrade is successful.'
        : (behaviour.description ?? 'The device upgrade fails.'),
      upgradeTime,
    };
  }

  // ------------------------------------------------------------------ pushes

  #notify(_task: Task, _sub: SubTask, notification: HuaweiNotification): void {
    const url = this.#subscriptions.get(notification.notifyType);
    if (!url) return;
    const origin = new URL(url).origin;
    let host = this.#hosts.get(origin);
    if (!host) {
      host = {
        items: [],
        failures: 0,
        blacklistedUntil: undefined,
        running: false,
        timer: undefined,
      };
      this.#hosts.set(origin, host);
    }
    // Compact JSON: the Java NA SDK matches `"notifyType":"..."` as a raw substring.
    host.items.push({
      url,
      notification,
      body: JSON.stringify(notification),
      enqueuedAt: Date.now(),
      attempts: 0,
    });
    this.#pump(host);
  }

  #schedule(host: HostQueue, ms: number): void {
    if (host.timer || this.#closed) return;
    host.timer = setTimeout(() => {
      host.timer = undefined;
      this.#pump(host);
    }, ms);
  }

  /**
   * One push at a time per callback host, oldest first: a failed message is retried before later
   * ones, so a receiver sees each sub-task's states in order.
   */
  #pump(host: HostQueue): void {
    if (host.running || host.timer || this.#closed) return;
    host.running = true;
    const work = this.#drain(host).finally(() => {
      host.running = false;
    });
    this.#track(work);
  }

  async #drain(host: HostQueue): Promise<void> {
    const d = this.#delivery;
    while (host.items.length > 0 && !this.#closed) {
      const now = Date.now();
      // Items are in enqueue order: the expired ones are at the front.
      while (
        host.items.length > 0 &&
        now - (host.items[0] as Pending).enqueuedAt > d.messageTtlMs
      ) {
        const expired = host.items.shift() as Pending;
        this.#dropped.push(expired);
        this.#log.warn?.('push dropped after the message cache time', { url: expired.url });
      }
      const item = host.items[0];
      if (!item) return;
      if (host.blacklistedUntil !== undefined && now < host.blacklistedUntil) {
        // Wake for the probe, or earlier when the oldest message runs out of cache time.
        const expiry = item.enqueuedAt + d.messageTtlMs + 1;
        this.#schedule(host, Math.min(host.blacklistedUntil, expiry) - now);
        return;
      }
      if (await this.#push(item)) {
        host.items.shift();
        host.failures = 0;
        host.blacklistedUntil = undefined;
        continue;
      }
      host.failures++;
      if (host.failures >= d.blacklistAfter) {
        host.blacklistedUntil = Date.now() + d.probeIntervalMs;
        this.#log.warn?.('callback host set aside', { url: item.url, failures: host.failures });
        continue;
      }
      this.#schedule(host, d.retryIntervalMs);
      return;
    }
  }

  async #push(item: Pending): Promise<boolean> {
    item.attempts++;
    const record: DeliveryRecord = {
      url: item.url,
      notifyType: item.notification.notifyType,
      body: item.body,
      attempt: item.attempts,
      at: Date.now(),
      ok: false,
    };
    let response: HttpResponse | undefined;
    try {
      response = await httpRequest(item.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: item.body,
        timeoutMs: this.#delivery.timeoutMs,
        tls: this.#options.callbackTls,
      });
      record.status = response.status;
      record.ok = response.status >= 200 && response.status < 300;
    } catch (error) {
      record.error = (error as Error).message;
    }
    this.#deliveries.push(record);
    return record.ok;
  }
}

/** Starts a platform stand-in on 127.0.0.1. */
export function createHuaweiPlatform(options: HuaweiPlatformOptions = {}): Promise<HuaweiPlatform> {
  return new HuaweiPlatform(options).start();
}

function operateType(task: Task): 'software_upgrade' | 'firmware_upgrade' {
  return task.type === 'software' ? 'software_upgrade' : 'firmware_upgrade';
}

const time = (ms: number | undefined) => (ms === undefined ? null : platformTime(ms));

function taskDto(task: Task): UpgradeTask {
  const count = (status: SubTaskStatus) => task.subs.filter((s) => s.status === status).length;
  const staResult: OperationStaResult = {
    total: task.subs.length,
    wait: count('wait'),
    processing: count('processing'),
    success: count('success'),
    fail: count('fail'),
    stop: count('stop'),
    timeout: count('timeout'),
  };
  return {
    operationId: task.operationId,
    createTime: time(task.createTime),
    startTime: time(task.startTime),
    stopTime: time(task.stopTime),
    operateType: operateType(task),
    targets: task.request.targets,
    policy: task.request.policy ?? null,
    status: task.status,
    staResult,
    extendPara: { fileId: task.fileId },
  };
}

function subDto(task: Task, sub: SubTask): SubOperationInfo {
  return {
    subOperationId: sub.subOperationId,
    createTime: time(sub.createTime),
    startTime: time(sub.startTime),
    stopTime: time(sub.stopTime),
    operateType: operateType(task),
    deviceId: sub.deviceId,
    status: sub.status,
    detailInfo: sub.detailInfo,
    extendInfo: null,
  };
}

function page<T>(items: T[], query: URLSearchParams) {
  const pageNo = Math.max(0, Number(query.get('pageNo') ?? 0) || 0);
  const pageSize = Math.min(100, Math.max(1, Number(query.get('pageSize') ?? 25) || 25));
  return {
    pageNo,
    pageSize,
    totalCount: items.length,
    data: items.slice(pageNo * pageSize, (pageNo + 1) * pageSize),
  };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError(400, '120015', 'Bad request: the body is not JSON.');
  }
}

function readAll(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: http.ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status, { 'content-length': '0' });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}
