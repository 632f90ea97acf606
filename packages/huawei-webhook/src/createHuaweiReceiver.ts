import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  type ActionRefMatch,
  type Logger,
  type MappingResult,
  mapHuaweiUpgradeResult,
  mapHuaweiUpgradeState,
  silentLogger,
  type UpdateService,
} from '@otaflow/core';
import { HuaweiError } from './HuaweiError.js';
import {
  HUAWEI_NOTIFICATION_SCHEMAS,
  type HuaweiNotification,
  notificationKey,
  upgradeResultOf,
  upgradeStateOf,
} from './notifications.js';
import { readBody } from './readBody.js';
import {
  HUAWEI_OPERATION_REF,
  HUAWEI_SUB_OPERATION_REF,
  operationRef,
  subOperationRef,
} from './refs.js';

/** The path the platform's own NA SDKs listen on; used unless `path` says otherwise. */
export const DEFAULT_RECEIVER_PATH = '/v1.0.0/messageReceiver';
export const DEFAULT_BODY_LIMIT = 64 * 1024;
export const DEFAULT_DEDUPE_SIZE = 10_000;
export const DEFAULT_MATCH_WAIT_MS = 2_000;

export interface HuaweiReceiverOptions {
  service: UpdateService;
  /** Exact request path (query ignored); default `/v1.0.0/messageReceiver`. */
  path?: string;
  /**
   * Shared secret the callback URL carries as `?secret=...` (the platform sends no headers of
   * ours, so the subscribed URL is the only place for it).
   */
  secret?: string;
  /** Basic auth; the platform sends it when the subscribed URL has `user:pass@`. */
  basicAuth?: { username: string; password: string };
  /** Largest accepted body in bytes; default 64 KiB. */
  bodyLimit?: number;
  /** How many notification keys are remembered for de-duplication; default 10 000. */
  dedupeSize?: number;
  /**
   * How long to wait for an action to carry the notification's ref before answering `ignored`:
   * the platform may push before the dispatcher has stored the ids it got back. Default 2 s.
   */
  matchWaitMs?: number;
  /** Any pino-compatible logger; default silent. */
  logger?: Logger;
  /** Sees every outcome after it is decided, before the answer goes out; must not throw. */
  onOutcome?: (outcome: ReceiverOutcome) => void;
}

export type ReceiverOutcome =
  | { result: 'applied'; actionId: number; notification: HuaweiNotification; status: string }
  | { result: 'duplicate'; notification: HuaweiNotification }
  | { result: 'refused'; actionId: number; notification: HuaweiNotification; reason: string }
  | { result: 'ignored'; notification?: HuaweiNotification; reason: string };

export interface HuaweiReceiver {
  readonly path: string;
  /** Handles the request when it is for this receiver's path; false otherwise (nothing answered). */
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean>;
  /** Notification keys currently remembered. */
  readonly dedupeCount: number;
}

class Reject {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

/**
 * One `writeHead` with a fresh plain object literal (node's fast path when no `setHeader` was
 * used) and one `end(text)`, so header and body leave in a single write with a Content-Length,
 * never chunked. A literal rather than a spread of shared headers: in a profile, the property
 * defined after a spread took V8's slow path on every answer.
 */
function sendText(
  res: http.ServerResponse,
  status: number,
  text: string,
  headers?: Record<string, string>,
): void {
  const length = Buffer.byteLength(text);
  res.writeHead(
    status,
    headers === undefined
      ? { 'content-type': 'application/json', 'content-length': length }
      : { 'content-type': 'application/json', 'content-length': length, ...headers },
  );
  res.end(text);
}

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  sendText(res, status, JSON.stringify(body), headers);
}

/** The 200 answer for an outcome, byte for byte what `JSON.stringify` would give. */
function answerOf(outcome: ReceiverOutcome): string {
  switch (outcome.result) {
    case 'duplicate':
      return '{"result":"duplicate"}';
    case 'applied':
      // An action id is a positive integer, so it needs no escaping.
      return `{"result":"applied","actionId":${outcome.actionId}}`;
    case 'refused':
      return JSON.stringify({
        result: outcome.result,
        actionId: outcome.actionId,
        reason: outcome.reason,
      });
    default:
      return JSON.stringify({ result: outcome.result, reason: outcome.reason });
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Constant time in the secret's content and length: both sides are hashed to 32 bytes first, since
 * `timingSafeEqual` alone needs equal lengths, and returning early on a length mismatch would tell
 * a prober how long the secret is.
 */
function sameSecret(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  // What the platform sends: no split, trim or lower-casing for it.
  if (contentType === 'application/json') return true;
  const type = (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function describeIssues(error: {
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>;
}): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
}

/** Parses and validates a push body; a Reject says what is wrong in the answer's terms. */
function parseNotification(
  body: Buffer,
): { notification: HuaweiNotification } | { ignored: string } {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new Reject(400, `body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Reject(400, 'body must be a JSON object');
  }
  const notifyType = (json as { notifyType?: unknown }).notifyType;
  if (typeof notifyType !== 'string' || notifyType.length === 0) {
    throw new Reject(400, 'notifyType: a non-empty string is required');
  }
  const schema = Object.hasOwn(HUAWEI_NOTIFICATION_SCHEMAS, notifyType)
    ? HUAWEI_NOTIFICATION_SCHEMAS[notifyType as keyof typeof HUAWEI_NOTIFICATION_SCHEMAS]
    : undefined;
  if (schema === undefined) {
    // Another subscription may share this URL; refusing it would get the whole host blacklisted.
    return { ignored: `notifyType ${notifyType} is not an upgrade notification` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new Reject(400, `invalid ${notifyType}: ${describeIssues(parsed.error)}`);
  return { notification: parsed.data };
}

function mapNotification(notification: HuaweiNotification, at: number): MappingResult {
  const where = `operation ${notification.operationId}, sub-operation ${notification.subOperationId}`;
  const state = upgradeStateOf(notification);
  if (state !== undefined) {
    return mapHuaweiUpgradeState(state, {
      at,
      messages: [`Huawei ${notification.notifyType}: ${state} (${where})`],
    });
  }
  const result = upgradeResultOf(notification) as string;
  const messages = [`Huawei ${notification.notifyType}: ${result} (${where})`];
  let code: number | undefined;
  if (notification.notifyType === 'swUpgradeResultNotify') {
    if (notification.resultDesc) messages.push(notification.resultDesc);
    if (notification.description) messages.push(notification.description);
    const parsed = Number(notification.errorCode);
    if (
      notification.errorCode !== undefined &&
      notification.errorCode !== '' &&
      Number.isInteger(parsed)
    )
      code = parsed;
  } else if (notification.notifyType === 'fwUpgradeResultNotify' && notification.statusDesc) {
    messages.push(notification.statusDesc);
  }
  const versions = notification as {
    sourceVersion?: string;
    curVersion?: string;
    targetVersion?: string;
  };
  if (versions.curVersion !== undefined || versions.targetVersion !== undefined) {
    messages.push(
      `version ${versions.sourceVersion ?? '?'} -> ${versions.curVersion ?? '?'} (target ${versions.targetVersion ?? '?'})`,
    );
  }
  return mapHuaweiUpgradeResult(result, { at, messages, code });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The NA side: a node:http handler for the platform's upgrade pushes. Each notification is
 * validated, matched to its action by ref, mapped by core and applied before the answer, so a 200
 * always means "stored". Redeliveries are answered 200 without being applied twice.
 */
export function createHuaweiReceiver(options: HuaweiReceiverOptions): HuaweiReceiver {
  return buildReceiver(options).receiver;
}

const ignore = () => {};

/** The receiver, and the callback form of its `handle` its own server listens with. */
function buildReceiver(options: HuaweiReceiverOptions): {
  receiver: HuaweiReceiver;
  accept: (req: http.IncomingMessage, res: http.ServerResponse, done: () => void) => boolean;
} {
  const { service } = options;
  const path = options.path ?? DEFAULT_RECEIVER_PATH;
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const dedupeSize = options.dedupeSize ?? DEFAULT_DEDUPE_SIZE;
  const matchWaitMs = options.matchWaitMs ?? DEFAULT_MATCH_WAIT_MS;
  const log = options.logger ?? silentLogger;
  const basic = options.basicAuth
    ? digest(
        `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString('base64')}`,
      )
    : undefined;
  // An empty secret would let `?secret=` in: a configuration mistake, not a choice.
  if (options.secret === '' || options.basicAuth?.password === '')
    throw new HuaweiError('INVALID_OPTIONS', 'the receiver secret and password must not be empty');
  const secret = options.secret === undefined ? undefined : digest(options.secret);
  const seen = new Set<string>();
  // The keys in the order they were remembered, as a ring: the slot about to be overwritten holds
  // the oldest. Evicting through `seen.keys().next()` instead walks over every deleted entry V8's
  // hash table still keeps until its next rehash: thousands of holes per eviction once full.
  const order: string[] = [];
  let oldest = 0;
  const inFlight = new Map<string, Promise<ReceiverOutcome>>();

  function remember(key: string): void {
    if (dedupeSize <= 0 || seen.has(key)) return;
    seen.add(key);
    if (order.length < dedupeSize) {
      order.push(key);
      return;
    }
    seen.delete(order[oldest] as string);
    order[oldest] = key;
    oldest = oldest + 1 === dedupeSize ? 0 : oldest + 1;
  }

  // Only the id is needed to apply: the lean lookup builds no view.
  async function lookUp(notification: HuaweiNotification): Promise<ActionRefMatch | undefined> {
    const { deviceId, operationId, subOperationId } = notification;
    return (
      (await service.findActionIdByRef(
        HUAWEI_SUB_OPERATION_REF,
        subOperationRef(deviceId, operationId, subOperationId),
      )) ??
      // Only when the dispatcher has not stored the sub-task's ids yet.
      service.findActionIdByRef(HUAWEI_OPERATION_REF, operationRef(deviceId, operationId))
    );
  }

  /** Polls for the ref after a first miss: the platform may push before the ids are stored. */
  async function waitForAction(
    notification: HuaweiNotification,
  ): Promise<ActionRefMatch | undefined> {
    const deadline = Date.now() + matchWaitMs;
    for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
      await sleep(Math.min(pause, Math.max(1, deadline - Date.now())));
      const action = await lookUp(notification);
      if (action || Date.now() >= deadline) return action;
    }
  }

  async function process(notification: HuaweiNotification, key: string): Promise<ReceiverOutcome> {
    // The common case (the sub-operation ref is already stored) costs one lookup, awaited here
    // rather than through lookUp(): no clock, no loop, no extra async frame.
    const { deviceId, operationId, subOperationId } = notification;
    const action =
      (await service.findActionIdByRef(
        HUAWEI_SUB_OPERATION_REF,
        subOperationRef(deviceId, operationId, subOperationId),
      )) ??
      (await service.findActionIdByRef(
        HUAWEI_OPERATION_REF,
        operationRef(deviceId, operationId),
      )) ??
      (matchWaitMs > 0 ? await waitForAction(notification) : undefined);
    if (!action) {
      // Not remembered: a redelivery after the dispatcher stored its ref is then applied.
      return {
        result: 'ignored',
        notification,
        reason: `no action for device ${notification.deviceId}, operation ${notification.operationId}, sub-operation ${notification.subOperationId}`,
      };
    }
    const mapped = mapNotification(notification, service.now());
    if (mapped.kind === 'ignored') {
      remember(key);
      return { result: 'ignored', notification, reason: mapped.reason };
    }
    // The key goes into the action with the transition: a redelivery that reaches another
    // process, or this one after a restart, is recognised by core rather than applied again.
    const applied = await service.apply(action.id, mapped.event, { once: key });
    if (applied.ok) {
      remember(key);
      return {
        result: 'applied',
        actionId: action.id,
        notification,
        status: applied.action.status,
      };
    }
    if (applied.code === 'ACTION_NOT_FOUND')
      return { result: 'ignored', notification, reason: applied.message };
    if (applied.code === 'DUPLICATE_REPORT') {
      remember(key);
      return { result: 'duplicate', notification };
    }
    // Core's refusal is final (a late report for a closed action): answering anything but 200
    // would only make the platform push it again.
    remember(key);
    return {
      result: 'refused',
      actionId: action.id,
      notification,
      reason: `${applied.code}: ${applied.message}`,
    };
  }

  function checkRequest(req: http.IncomingMessage, query: string): void {
    // Credentials first: whoever lacks them learns nothing else about the endpoint.
    if (basic !== undefined) {
      const given = req.headers.authorization;
      if (given === undefined || !sameSecret(given, basic)) {
        throw new Reject(401, 'bad or missing credentials', {
          'www-authenticate': 'Basic realm="huawei-webhook"',
        });
      }
    }
    if (secret !== undefined) {
      const given = new URLSearchParams(query).get('secret');
      if (given === null || !sameSecret(given, secret))
        throw new Reject(401, 'bad or missing secret');
    }
    if (req.method !== 'POST')
      throw new Reject(405, `method ${req.method} not allowed`, { allow: 'POST' });
    if (!isJson(req.headers['content-type'])) {
      throw new Reject(
        415,
        `content-type must be application/json, got ${req.headers['content-type'] ?? 'none'}`,
      );
    }
  }

  /** Answers a request it will not take, as the platform reads a refusal or a failure. */
  function refuse(res: http.ServerResponse, error: unknown): void {
    if (error instanceof Reject) {
      log.warn({ status: error.status, reason: error.reason }, 'huawei push refused');
      send(res, error.status, { result: 'rejected', reason: error.reason }, error.headers);
      return;
    }
    // Not stored: a 500 makes the platform push it again.
    log.error({ err: error }, 'huawei push failed');
    send(res, 500, { result: 'error', reason: 'notification could not be stored' });
  }

  function answer(res: http.ServerResponse, outcome: ReceiverOutcome): void {
    if (outcome.result === 'ignored' || outcome.result === 'refused') {
      log.info({ reason: outcome.reason }, `huawei push ${outcome.result}`);
    } else {
      log.debug({ notifyType: outcome.notification.notifyType }, `huawei push ${outcome.result}`);
    }
    try {
      options.onOutcome?.(outcome);
    } catch {
      // An observer's failure must not turn a stored notification into a platform retry.
    }
    sendText(res, 200, answerOf(outcome));
  }

  /**
   * A whole body in hand: a redelivery or a refusal is answered before this returns, a first
   * delivery once core has applied it. `done` runs once the answer is written.
   */
  function received(res: http.ServerResponse, body: Buffer, done: () => void): void {
    const parsed = parseNotification(body);
    if (!('notification' in parsed)) {
      answer(res, { result: 'ignored', reason: parsed.ignored });
      done();
      return;
    }
    const { notification } = parsed;
    const key = notificationKey(notification);
    if (seen.has(key)) {
      answer(res, { result: 'duplicate', notification });
      done();
      return;
    }
    const finish = (outcome: ReceiverOutcome) => {
      answer(res, outcome);
      done();
    };
    const failed = (error: unknown) => {
      refuse(res, error);
      done();
    };
    const running = inFlight.get(key);
    if (running) {
      // Answered as the first delivery is answered: a failure or an unmatched push was not stored.
      running.then(
        (first) => finish(seen.has(key) ? { result: 'duplicate', notification } : first),
        failed,
      );
      return;
    }
    const work = process(notification, key);
    inFlight.set(key, work);
    work.then(
      (outcome) => {
        inFlight.delete(key);
        finish(outcome);
      },
      (error: unknown) => {
        inFlight.delete(key);
        failed(error);
      },
    );
  }

  /**
   * `handle` without a promise of its own: listeners and callbacks from the request to the answer,
   * so a redelivery costs no promise at all and a first delivery only core's.
   */
  function accept(req: http.IncomingMessage, res: http.ServerResponse, done: () => void): boolean {
    const url = req.url ?? '/';
    const mark = url.indexOf('?');
    const pathname = mark < 0 ? url : url.slice(0, mark);
    if (pathname !== path) return false;
    try {
      checkRequest(req, mark < 0 ? '' : url.slice(mark + 1));
    } catch (error) {
      // node reads and drops the unread body itself, so the connection stays usable.
      refuse(res, error);
      done();
      return true;
    }
    readBody(req, limit, {
      body(body) {
        try {
          received(res, body, done);
        } catch (error) {
          refuse(res, error);
          done();
        }
      },
      tooLarge() {
        // The rest of the body stays unread: the connection goes with the answer.
        refuse(res, new Reject(413, `body larger than ${limit} bytes`, { connection: 'close' }));
        done();
      },
      failed(error) {
        if (res.headersSent) return;
        refuse(res, error);
        done();
      },
    });
    return true;
  }

  return {
    receiver: {
      path,
      handle: (req, res) =>
        new Promise<boolean>((resolve) => {
          if (!accept(req, res, () => resolve(true))) resolve(false);
        }),
      get dedupeCount() {
        return seen.size;
      },
    },
    accept,
  };
}

export interface HuaweiReceiverServerOptions extends HuaweiReceiverOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Serve HTTPS with this certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer };
}

export interface HuaweiReceiverServer {
  readonly server: http.Server;
  readonly receiver: HuaweiReceiver;
  /** The callback URL to subscribe, e.g. `https://127.0.0.1:41234/v1.0.0/messageReceiver`. */
  readonly url: string;
  close(): Promise<void>;
}

/** The receiver on its own HTTP(S) server, listening; other paths get 404. */
export async function createHuaweiReceiverServer(
  options: HuaweiReceiverServerOptions,
): Promise<HuaweiReceiverServer> {
  const { receiver, accept } = buildReceiver(options);
  const listener: http.RequestListener = (req, res) => {
    try {
      if (!accept(req, res, ignore)) send(res, 404, { result: 'rejected', reason: 'not found' });
    } catch {
      if (!res.headersSent) send(res, 500, { result: 'error', reason: 'internal error' });
    }
  };
  const server: http.Server = options.tls
    ? https.createServer(
        {
          key: options.tls.key,
          cert: options.tls.cert,
          ...(options.tls.ca ? { ca: options.tls.ca } : {}),
        },
        listener,
      )
    : http.createServer(listener);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://${host}:${port}${receiver.path}`;
  return {
    server,
    receiver,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
