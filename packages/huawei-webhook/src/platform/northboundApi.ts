import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HuaweiError } from '../HuaweiError.js';
import { LOGIN_PATH, REFRESH_TOKEN_PATH, SUBSCRIBE_PATH } from '../northboundPaths.js';
import { callbackUrlOf, isValidCallbackUrl, SubscribeRequest } from '../subscription.js';
import {
  CreateUpgradeTaskRequest,
  type LoginResponse,
  UPGRADE_API_BASE,
  type UpgradeType,
} from '../upgradeTasks.js';
import type { PlatformState, Task } from './PlatformState.js';
import { operateType, pageOf, subTaskView, taskView } from './taskViews.js';

/** A northbound request, read whole: what every endpoint below takes. */
export interface NorthboundRequest {
  method: string;
  /** The path without its query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface NorthboundAnswer {
  status: number;
  body?: unknown;
}

/** Called with each new task, to start its devices. */
export type TaskCreated = (task: Task) => void;

/** A refusal in the platform's terms: an HTTP status and one of its `error_code`s. */
export function platformError(status: number, platformCode: string, desc: string): HuaweiError {
  return new HuaweiError('PLATFORM_ERROR', desc, { status, platformCode });
}

/** The platform's error body for a refusal; undefined for any other error. */
export function errorAnswer(error: unknown): NorthboundAnswer | undefined {
  if (!(error instanceof HuaweiError) || error.code !== 'PLATFORM_ERROR') return undefined;
  const { status, platformCode } = error.details ?? {};
  if (status === undefined || platformCode === undefined) return undefined;
  return { status, body: { error_code: platformCode, error_desc: error.message } };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw platformError(400, '120015', 'Bad request: the body is not JSON.');
  }
}

/** Makes a new token pair; only the last one is valid, as the platform documents. */
export function issueTokens(state: PlatformState): LoginResponse {
  state.accessToken = randomBytes(16).toString('hex');
  state.refreshToken = randomBytes(16).toString('hex');
  return {
    scope: 'default',
    tokenType: 'bearer',
    expiresIn: state.tokenTtlSeconds,
    accessToken: state.accessToken,
    refreshToken: state.refreshToken,
  };
}

/** `POST /iocm/app/sec/v1.1.0/login`, form-encoded (as the SDKs send) or JSON. */
export function login(state: PlatformState, req: NorthboundRequest): NorthboundAnswer {
  const type = req.headers['content-type'] ?? '';
  const fields: Record<string, unknown> = type.includes('json')
    ? (parseJson(req.body) as Record<string, unknown>)
    : Object.fromEntries(new URLSearchParams(req.body));
  if (fields.appId !== state.appId || fields.secret !== state.secret)
    throw platformError(401, '100208', 'AppId or secret is not right.');
  return { status: 200, body: issueTokens(state) };
}

/** `POST /iocm/app/sec/v1.1.0/refreshToken`. */
export function refreshToken(state: PlatformState, req: NorthboundRequest): NorthboundAnswer {
  const fields = parseJson(req.body) as Record<string, unknown>;
  if (
    fields.appId !== state.appId ||
    fields.secret !== state.secret ||
    fields.refreshToken !== state.refreshToken
  ) {
    throw platformError(401, '100208', 'AppId, secret or refreshToken is not right.');
  }
  return { status: 200, body: issueTokens(state) };
}

/** Every other call carries `app_key` and the last access token as a bearer. */
export function authorize(state: PlatformState, req: NorthboundRequest): void {
  const bearer = req.headers.authorization;
  const ok =
    req.headers.app_key === state.appId &&
    state.accessToken !== undefined &&
    bearer !== undefined &&
    bearer.replace(/^bearer\s+/i, '') === state.accessToken;
  if (!ok) throw platformError(401, '1010005', 'App_key or access_token is invalid.');
}

/** `POST /iodm/app/sub/v1.1.0/subscribe`: a new subscription replaces the type's old one. */
export function subscribe(state: PlatformState, req: NorthboundRequest): NorthboundAnswer {
  const body = parseJson(req.body);
  const raw = body as Record<string, unknown> | null;
  const url = raw && typeof raw === 'object' ? (raw.callbackUrl ?? raw.callbackurl) : undefined;
  if (typeof url === 'string' && !isValidCallbackUrl(url))
    throw platformError(400, '100222', 'Internal server error. The callback URL is invalid.');
  const parsed = SubscribeRequest.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') ?? '';
    if (field.startsWith('callback'))
      throw platformError(400, '100222', `Internal server error. ${issue?.message}`);
    throw platformError(
      400,
      '100228',
      `The application input is invalid: ${field} ${issue?.message}`,
    );
  }
  state.subscriptions.set(parsed.data.notifyType, callbackUrlOf(parsed.data));
  return { status: 200 };
}

/** `POST .../operations/softwareUpgrade` and `.../firmwareUpgrade`. */
export function createUpgradeTask(
  state: PlatformState,
  type: UpgradeType,
  req: NorthboundRequest,
  created: TaskCreated,
): NorthboundAnswer {
  const parsed = CreateUpgradeTaskRequest.safeParse(parseJson(req.body));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.path.join('.') === 'policy.executeType')
      throw platformError(400, '123025', 'executeType is invalid.');
    throw platformError(400, '120015', `Bad request: ${issue?.path.join('.')} ${issue?.message}`);
  }
  const request = parsed.data;
  const { devices, deviceGroups } = request.targets;
  const hasDevices = devices !== undefined && devices.length > 0;
  const hasGroups = deviceGroups !== undefined && deviceGroups.length > 0;
  if (!hasDevices && !hasGroups)
    throw platformError(400, '123022', 'deviceGroups and devices cannot be null together.');
  if (hasDevices && hasGroups)
    throw platformError(400, '123023', 'deviceGroups and devices cannot be both set.');
  if (hasGroups)
    throw platformError(
      400,
      '120015',
      'Bad request: device groups are not simulated by this stand-in.',
    );
  if ((devices as string[]).length > 256)
    throw platformError(400, '123024', 'devices cannot exceed 256.');
  const policy = request.policy;
  if (
    policy?.retryType &&
    (policy.retryTimes === undefined || policy.retryTimes < 1 || policy.retryTimes > 5)
  ) {
    throw platformError(400, '123028', 'retryTimes cannot be less than 1 or greater than 5.');
  }
  const known = state.packages?.[request.fileId];
  if (state.packages && !known)
    throw platformError(400, '120015', `Bad request: version package ${request.fileId} not found.`);
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
  state.tasks.set(task.operationId, task);
  created(task);
  return { status: 200, body: { operationId: task.operationId } };
}

/** `GET .../operations`, filtered by `operationType`, `operationStatus` and `deviceId`. */
export function listUpgradeTasks(state: PlatformState, req: NorthboundRequest): NorthboundAnswer {
  const { query } = req;
  let tasks = [...state.tasks.values()];
  const type = query.get('operationType');
  const status = query.get('operationStatus');
  const deviceId = query.get('deviceId');
  if (type) tasks = tasks.filter((t) => operateType(t) === type);
  if (status) tasks = tasks.filter((t) => t.status === status);
  if (deviceId) tasks = tasks.filter((t) => t.subs.some((s) => s.deviceId === deviceId));
  return { status: 200, body: pageOf(tasks.map(taskView), query) };
}

function requireTask(state: PlatformState, operationId: string): Task {
  const task = state.tasks.get(operationId);
  if (!task) throw platformError(404, '123002', 'The upgrade task does not exist.');
  return task;
}

/** `GET .../operations/{operationId}`. */
export function getUpgradeTask(state: PlatformState, operationId: string): NorthboundAnswer {
  return { status: 200, body: taskView(requireTask(state, operationId)) };
}

/** `GET .../operations/{operationId}/subOperations`, filtered by `subOperationStatus`. */
export function listSubOperations(
  state: PlatformState,
  operationId: string,
  req: NorthboundRequest,
): NorthboundAnswer {
  const task = requireTask(state, operationId);
  const status = req.query.get('subOperationStatus');
  const subs = task.subs
    .filter((s) => !status || s.status === status)
    .map((s) => subTaskView(task, s));
  return { status: 200, body: pageOf(subs, req.query) };
}

const OPERATIONS = `${UPGRADE_API_BASE}/operations`;
const ONE_OPERATION = /^\/iodm\/northbound\/v1\.5\.0\/operations\/([^/]+)(\/subOperations)?$/;

/**
 * Routes one request to its endpoint and turns a refusal into the platform's error body. Any
 * other error is the stand-in's own failure and is thrown.
 */
export function handleNorthbound(
  state: PlatformState,
  req: NorthboundRequest,
  created: TaskCreated,
): NorthboundAnswer {
  try {
    return route(state, req, created);
  } catch (error) {
    const answer = errorAnswer(error);
    if (answer) return answer;
    throw error;
  }
}

function route(
  state: PlatformState,
  req: NorthboundRequest,
  created: TaskCreated,
): NorthboundAnswer {
  const { method, path } = req;
  if (method === 'POST' && path === LOGIN_PATH) return login(state, req);
  if (method === 'POST' && path === REFRESH_TOKEN_PATH) return refreshToken(state, req);
  authorize(state, req);
  if (method === 'POST' && path === SUBSCRIBE_PATH) return subscribe(state, req);
  if (method === 'POST' && path === `${OPERATIONS}/softwareUpgrade`)
    return createUpgradeTask(state, 'software', req, created);
  if (method === 'POST' && path === `${OPERATIONS}/firmwareUpgrade`)
    return createUpgradeTask(state, 'firmware', req, created);
  if (method === 'GET' && path === OPERATIONS) return listUpgradeTasks(state, req);
  const match = ONE_OPERATION.exec(path);
  if (method === 'GET' && match) {
    const operationId = decodeURIComponent(match[1] as string);
    return match[2]
      ? listSubOperations(state, operationId, req)
      : getUpgradeTask(state, operationId);
  }
  throw platformError(404, '100403', `no API at ${method} ${path}`);
}
