import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type ActionView,
  type ApplyResult,
  ControllerId,
  isForcedNow,
  type MappingResult,
  mapDdiConfirmation,
  mapDdiFeedback,
  type SoftwareModule,
  selectNextAction,
  type TargetView,
  type UpdateService,
} from '@otaflow/core';
import type { z } from 'zod';
import type { ArtifactSource } from './ArtifactSource.js';
import { isSafeArtifactName } from './FileArtifactSource.js';
import { isMaintenanceWindowOpen } from './maintenanceWindow.js';
import { parsePollingSleep } from './pollingSleep.js';
import {
  DdiActionFeedback,
  DdiActivateAutoConfirmation,
  type DdiArtifact,
  DdiAssignedVersion,
  type DdiChunk,
  DdiConfigData,
  DdiConfirmationFeedback,
  type DdiDeployment,
  type DdiExceptionInfo,
  type DdiHandling,
} from './schemas.js';
import { serveArtifact } from './serveArtifact.js';

export interface DdiServerLogger {
  warn(message: string, details?: unknown): void;
  error(message: string, details?: unknown): void;
}

export interface DdiAuthOptions {
  /** `Authorization: TargetToken <token>` checked against the target's security token. */
  targetToken: boolean;
  /** The tenant's gateway key for `Authorization: GatewayToken <key>`; unset disables it. */
  gatewayToken?: string;
  /** Requests without an `Authorization` header are let in (hawkBit no longer offers this). */
  anonymous?: boolean;
}

export interface DdiServerOptions {
  service: UpdateService;
  tenant: string;
  artifacts: ArtifactSource;
  auth: DdiAuthOptions;
  /** Unknown controllers polling with the gateway token or anonymously are created. */
  autoRegister?: boolean;
  /** `config.polling.sleep`, `HH:MM:SS` (default `00:05:00`). */
  pollingSleep?: string;
  /** Request bodies above this many bytes get 413 (default 64 KiB). */
  maxBodyBytes?: number;
  /**
   * A known target's last-contact time is written at most once per this many ms (default 30 s),
   * like hawkBit's batched poll-time persistence; registration and UNKNOWN -> REGISTERED are
   * always immediate. 0 writes on every poll.
   */
  contactIntervalMs?: number;
  /** Base of generated hrefs, e.g. `https://ota.example.com`; else built from the Host header. */
  publicBaseUrl?: string;
  logger?: DdiServerLogger;
}

export interface DdiServer {
  /** Answers a DDI request; resolves false (and touches nothing) when the path is not DDI's. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

const HAL_JSON = 'application/hal+json';
const JSON_TYPE = 'application/json';
const NOT_READABLE = 'org.eclipse.hawkbit.rest.exception.MessageNotReadableException';
const NOT_FOUND_CLASS = 'org.eclipse.hawkbit.repository.exception.EntityNotFoundException';
const NO_HISTORY_PREFIX = 'Update Server: ';
const MAX_HISTORY_MESSAGES = 100;
const ATTRIBUTE_MAX = 128;
const DEFAULT_REMARK =
  'Initiated using the Device Direct Integration API without providing a remark.';
/** hawkBit's legacy names for two module types. */
const LEGACY_PART: Readonly<Record<string, string>> = { application: 'bApp', runtime: 'jvm' };

type Route =
  | { kind: 'root' }
  | {
      kind:
        | 'deploymentBase'
        | 'deploymentFeedback'
        | 'cancelAction'
        | 'cancelFeedback'
        | 'installedBase';
      actionId: number;
    }
  | { kind: 'confirmationAction' | 'confirmationFeedback'; actionId: number }
  | {
      kind:
        | 'putInstalledBase'
        | 'configData'
        | 'confirmationBase'
        | 'activateAutoConfirm'
        | 'deactivateAutoConfirm';
    }
  | { kind: 'artifacts'; moduleId: number }
  | { kind: 'artifact'; moduleId: number; filename: string }
  | { kind: 'unknown' };

const METHODS: Record<Route['kind'], string[]> = {
  root: ['GET'],
  deploymentBase: ['GET'],
  deploymentFeedback: ['POST'],
  cancelAction: ['GET'],
  cancelFeedback: ['POST'],
  installedBase: ['GET'],
  putInstalledBase: ['PUT'],
  configData: ['PUT'],
  confirmationBase: ['GET'],
  confirmationAction: ['GET'],
  confirmationFeedback: ['POST'],
  activateAutoConfirm: ['POST'],
  deactivateAutoConfirm: ['POST'],
  artifacts: ['GET'],
  artifact: ['GET', 'HEAD'],
  unknown: [],
};

/** A positive id of at most 2^53-1; anything else names no action or module. */
function idOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const length = text.length;
  if (length === 0 || length > 16) return undefined;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

const UNKNOWN: Route = { kind: 'unknown' };
const ROOT: Route = { kind: 'root' };
const PUT_INSTALLED_BASE: Route = { kind: 'putInstalledBase' };
const CONFIG_DATA: Route = { kind: 'configData' };
const CONFIRMATION_BASE: Route = { kind: 'confirmationBase' };
const ACTIVATE_AUTO_CONFIRM: Route = { kind: 'activateAutoConfirm' };
const DEACTIVATE_AUTO_CONFIRM: Route = { kind: 'deactivateAutoConfirm' };

type ActionRouteKind = Extract<Route, { actionId: number }>['kind'];

function actionRoute(kind: ActionRouteKind, id: number | undefined): Route {
  return id === undefined ? UNKNOWN : { kind, actionId: id };
}

/** Routes the path segments after `/{tenant}/controller/v1/{controllerId}` (from `at` on). */
function routeOf(segments: readonly string[], at: number): Route {
  const n = segments.length - at;
  if (n === 0) return ROOT;
  const a = segments[at];
  const b = segments[at + 1];
  const c = segments[at + 2];
  switch (a) {
    case 'deploymentBase':
      if (n === 2) return actionRoute('deploymentBase', idOf(b));
      if (n === 3 && c === 'feedback') return actionRoute('deploymentFeedback', idOf(b));
      break;
    case 'cancelAction':
      if (n === 2) return actionRoute('cancelAction', idOf(b));
      if (n === 3 && c === 'feedback') return actionRoute('cancelFeedback', idOf(b));
      break;
    case 'installedBase':
      if (n === 1) return PUT_INSTALLED_BASE;
      if (n === 2) return actionRoute('installedBase', idOf(b));
      break;
    case 'configData':
      if (n === 1) return CONFIG_DATA;
      break;
    case 'confirmationBase':
      if (n === 1) return CONFIRMATION_BASE;
      if (n === 2 && b === 'activateAutoConfirm') return ACTIVATE_AUTO_CONFIRM;
      if (n === 2 && b === 'deactivateAutoConfirm') return DEACTIVATE_AUTO_CONFIRM;
      if (n === 2) return actionRoute('confirmationAction', idOf(b));
      if (n === 3 && c === 'feedback') return actionRoute('confirmationFeedback', idOf(b));
      break;
    case 'softwaremodules': {
      const id = idOf(b);
      if (id === undefined || c !== 'artifacts') break;
      if (n === 3) return { kind: 'artifacts', moduleId: id };
      const d = segments[at + 3];
      if (n === 4 && d !== undefined) {
        try {
          return { kind: 'artifact', moduleId: id, filename: decodeURIComponent(d) };
        } catch {
          break;
        }
      }
      break;
    }
  }
  return UNKNOWN;
}

/** What the client accepts of hal+json and json; undefined = 406. */
function negotiate(accept: string | undefined): string | undefined {
  if (!accept) return HAL_JSON;
  // What DDI clients send nearly always; the general parse below gives the same answers.
  if (accept === HAL_JSON || accept === '*/*') return HAL_JSON;
  if (accept === JSON_TYPE) return JSON_TYPE;
  const ranges = accept
    .split(',')
    .map((part) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type, q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((r) => r.q > 0)
    .sort((x, y) => y.q - x.q);
  for (const { type } of ranges) {
    if (type === JSON_TYPE) return JSON_TYPE;
    if (type === HAL_JSON || type === '*/*' || type === 'application/*') return HAL_JSON;
  }
  return undefined;
}

function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  if (header === JSON_TYPE || header === HAL_JSON) return true;
  const type = header.split(';')[0]!.trim().toLowerCase();
  return (
    type === JSON_TYPE ||
    type === HAL_JSON ||
    (type.startsWith('application/') && type.endsWith('+json'))
  );
}

function safeEqual(a: string, b: string | Buffer): boolean {
  const x = Buffer.from(a);
  const y = typeof b === 'string' ? Buffer.from(b) : b;
  return x.length === y.length && timingSafeEqual(x, y);
}

const HAL_JSON_UTF8 = `${HAL_JSON};charset=UTF-8`;
const JSON_UTF8 = `${JSON_TYPE};charset=UTF-8`;
const NO_CONTENT_HEADERS = ['Content-Length', '0'];

/** A body being read: kept on the request so the listeners below need no closure per request. */
interface BodyRead {
  first: Buffer | undefined;
  more: Buffer[] | undefined;
  size: number;
  limit: number;
  resolve: (body: Buffer | undefined) => void;
  reject: (error: Error) => void;
}
const BODY_READ = Symbol('ddi.bodyRead');
type ReadingRequest = IncomingMessage & { [BODY_READ]?: BodyRead | undefined };

function stopReading(req: ReadingRequest): BodyRead {
  const read = req[BODY_READ]!;
  req[BODY_READ] = undefined;
  req.off('data', onBodyData);
  req.off('end', onBodyEnd);
  req.off('error', onBodyError);
  req.off('close', onBodyClose);
  return read;
}

function onBodyData(this: ReadingRequest, chunk: Buffer): void {
  const read = this[BODY_READ]!;
  read.size += chunk.length;
  if (read.size > read.limit) {
    stopReading(this);
    // As leaving an async iterator early does: the rest of the body is not waited for.
    this.destroy();
    read.resolve(undefined);
  } else if (read.first === undefined) read.first = chunk;
  else if (read.more) read.more.push(chunk);
  else read.more = [read.first, chunk];
}

function onBodyEnd(this: ReadingRequest): void {
  const read = stopReading(this);
  read.resolve(read.more ? Buffer.concat(read.more, read.size) : (read.first ?? EMPTY));
}

function onBodyError(this: ReadingRequest, error: Error): void {
  stopReading(this).reject(error);
}

/** A body cut off without an error still settles, as the async iterator's premature close did. */
function onBodyClose(this: ReadingRequest): void {
  stopReading(this).reject(new Error('request closed before its body ended'));
}

/**
 * The whole request body, or undefined once it grows past `limit`. A single chunk is returned as
 * it came, not copied.
 */
function bodyOf(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    (req as ReadingRequest)[BODY_READ] = {
      first: undefined,
      more: undefined,
      size: 0,
      limit,
      resolve,
      reject,
    };
    req.on('data', onBodyData);
    req.on('end', onBodyEnd);
    req.on('error', onBodyError);
    req.on('close', onBodyClose);
  });
}
const EMPTY = Buffer.alloc(0);

class HttpFailure {
  constructor(
    readonly status: number,
    readonly body?: DdiExceptionInfo,
  ) {}
}

const notReadable = (message: string) =>
  new HttpFailure(400, {
    exceptionClass: NOT_READABLE,
    errorCode: 'hawkbit.server.error.rest.body.notReadable',
    message,
  });
const notFound = (message: string) =>
  new HttpFailure(404, {
    exceptionClass: NOT_FOUND_CLASS,
    errorCode: 'hawkbit.server.error.repo.entityNotFound',
    message,
  });
const empty = (status: number) => new HttpFailure(status);

type Via = 'target' | 'gateway' | 'anonymous';

/** One request's context; the href base is built only by the answers that carry links. */
class Ctx {
  #base: string | undefined;
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly tenantSegment: string,
    readonly controllerId: string,
    /** The target as read for authentication; undefined when unknown. */
    readonly target: TargetView | undefined,
    readonly via: Via,
    readonly publicBase: string | undefined,
  ) {}

  get base(): string {
    if (this.#base === undefined) {
      const origin =
        this.publicBase ??
        `${(this.req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'}://${this.req.headers.host ?? 'localhost'}`;
      this.#base = `${origin}/${this.tenantSegment}/controller/v1/${encodeURIComponent(this.controllerId)}`;
    }
    return this.#base;
  }
}

/**
 * A hawkBit-compatible DDI v1 request handler for `node:http`. It keeps no state: every read and
 * change goes through the `UpdateService`, and every feedback through core's DDI mappings.
 */
export function createDdiServer(options: DdiServerOptions): DdiServer {
  const { service, artifacts } = options;
  const tenantLower = options.tenant.toLowerCase();
  const pollingSleep = options.pollingSleep ?? '00:05:00';
  parsePollingSleep(pollingSleep);
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  const logger = options.logger;
  const publicBase = options.publicBaseUrl?.replace(/\/+$/, '');
  const contactInterval = options.contactIntervalMs ?? 30_000;
  /** The gateway key's bytes, kept while `options.auth.gatewayToken` stays the same string. */
  let gatewayKey: { text: string; bytes: Buffer } | undefined;

  // ------------------------------------------------------------ plumbing

  function sendJson(ctx: Ctx, body: unknown): void {
    const { req, res } = ctx;
    const text = JSON.stringify(body);
    // One-shot md5 (no Hash object); the ETag is what it always was.
    const etag = `"0${hash('md5', text, 'hex')}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, ['ETag', etag]);
      res.end();
      return;
    }
    const type = negotiate(req.headers.accept) === JSON_TYPE ? JSON_UTF8 : HAL_JSON_UTF8;
    res.writeHead(200, [
      'ETag',
      etag,
      'Content-Type',
      type,
      'Content-Length',
      String(Buffer.byteLength(text)),
    ]);
    res.end(text);
  }

  function sendStatus(res: ServerResponse, status: number, body?: DdiExceptionInfo): void {
    if (body) {
      const text = JSON.stringify(body);
      res.writeHead(status, [
        'Content-Type',
        JSON_UTF8,
        'Content-Length',
        String(Buffer.byteLength(text)),
      ]);
      res.end(text);
    } else {
      res.writeHead(status, NO_CONTENT_HEADERS);
      res.end();
    }
  }

  async function readBody<S extends z.ZodType>(
    ctx: Ctx,
    schema: S,
    optional = false,
  ): Promise<z.infer<S>> {
    const { req, res } = ctx;
    const length = req.headers['content-length'];
    const declared = length === undefined ? 0 : Number(length);
    const hasBody = declared > 0 || req.headers['transfer-encoding'] !== undefined;
    if (!(optional && !hasBody) && !isJsonContentType(req.headers['content-type'])) {
      res.setHeader('Connection', 'close');
      throw empty(415);
    }
    if (declared > maxBody) {
      res.setHeader('Connection', 'close');
      throw empty(413);
    }
    // Usually the whole body came with the headers and waits in the stream's buffer already.
    const raw =
      req.complete && req.readableLength <= maxBody && !req.readableFlowing
        ? ((req.read() as Buffer | null) ?? EMPTY)
        : await bodyOf(req, maxBody);
    if (raw === undefined) {
      res.setHeader('Connection', 'close');
      throw empty(413);
    }
    if (raw.length === 0 && optional) return schema.parse({});
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw notReadable('The given request body is not well formed');
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw notReadable(
        parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      );
    }
    return parsed.data;
  }

  function requireTarget(ctx: Ctx): TargetView {
    if (!ctx.target)
      throw notFound(`Target with given identifier {${ctx.controllerId}} does not exist.`);
    return ctx.target;
  }

  /** The action, if it exists and belongs to the target (hawkBit answers both with 404). */
  async function actionOf(ctx: Ctx, actionId: number): Promise<ActionView> {
    requireTarget(ctx);
    const action = await service.getAction(actionId);
    if (!action || action.controllerId !== ctx.controllerId) {
      throw notFound(`Not a valid action (${actionId}) for target ${ctx.controllerId}.`);
    }
    return action;
  }

  // ------------------------------------------------------------ views

  function windowOpen(action: ActionView, now: number): boolean | undefined {
    if (!action.maintenanceWindow) return undefined;
    try {
      return isMaintenanceWindowOpen(action.maintenanceWindow, now);
    } catch (error) {
      logger?.warn(
        `maintenance window of action ${action.id} cannot be evaluated; treated as closed`,
        error,
      );
      return false;
    }
  }

  /** hawkBit's `c`: changes when the action turns forced or its window opens, so the root ETag does. */
  function changeMarker(action: ActionView, now: number): number {
    const forced = isForcedNow(action, now);
    const open = windowOpen(action, now);
    return (Math.imul(31, action.id) + (forced ? 1231 : open ? 1249 : 1237)) | 0;
  }

  function handlingOf(
    action: ActionView,
    now: number,
  ): Pick<DdiDeployment, 'download' | 'update' | 'maintenanceWindow'> {
    const download: DdiHandling =
      action.type === 'downloadonly' || isForcedNow(action, now) ? 'forced' : 'attempt';
    let update: DdiHandling = action.type === 'downloadonly' ? 'skip' : download;
    const open = windowOpen(action, now);
    if (open === undefined) return { download, update };
    if (!open) update = 'skip';
    return { download, update, maintenanceWindow: open ? 'available' : 'unavailable' };
  }

  function artifactJson(
    ctx: Ctx,
    module: SoftwareModule,
    a: SoftwareModule['artifacts'][number],
  ): DdiArtifact {
    const href = `${ctx.base}/softwaremodules/${module.id}/artifacts/${encodeURIComponent(a.filename)}`;
    const https = href.startsWith('https:');
    const links: NonNullable<DdiArtifact['_links']> = https
      ? { download: { href }, md5sum: { href: `${href}.MD5SUM` } }
      : { 'download-http': { href }, 'md5sum-http': { href: `${href}.MD5SUM` } };
    return {
      filename: a.filename,
      hashes: {
        sha1: a.hashes.sha1.toLowerCase(),
        md5: a.hashes.md5.toLowerCase(),
        sha256: a.hashes.sha256.toLowerCase(),
      },
      size: a.size,
      _links: links,
    };
  }

  async function chunksOf(ctx: Ctx, action: ActionView): Promise<DdiChunk[]> {
    const set = await service.requireDistributionSet(action.distributionSetId);
    const modules = await service.modulesOf(set);
    return modules.map((m) => {
      const chunk: DdiChunk = {
        part: LEGACY_PART[m.type] ?? m.type,
        version: m.version,
        name: m.name,
        artifacts: m.artifacts.map((a) => artifactJson(ctx, m, a)),
      };
      if (m.encrypted) chunk.encrypted = true;
      if (m.metadata.length > 0)
        chunk.metadata = m.metadata.map(({ key, value }) => ({ key, value }));
      return chunk;
    });
  }

  async function historyOf(
    ctx: Ctx,
    action: ActionView,
  ): Promise<{ status: string; messages: string[] } | undefined> {
    const q = new URLSearchParams((ctx.req.url ?? '').split('?')[1] ?? '').get('actionHistory');
    const count = q === null ? 0 : Number.parseInt(q, 10);
    if (!Number.isFinite(count) || count === 0) return undefined;
    const limit = count < 0 ? MAX_HISTORY_MESSAGES : Math.min(count, MAX_HISTORY_MESSAGES);
    const entries = (await service.getActionHistory(action.id)) ?? [];
    const messages: string[] = [];
    for (let i = entries.length - 1; i >= 0 && messages.length < limit; i--) {
      const list = entries[i]!.messages ?? [];
      for (let j = list.length - 1; j >= 0 && messages.length < limit; j--) {
        if (!list[j]!.startsWith(NO_HISTORY_PREFIX)) messages.push(list[j]!);
      }
    }
    return messages.length > 0 ? { status: action.status, messages } : undefined;
  }

  async function deploymentJson(ctx: Ctx, action: ActionView, key: 'deployment' | 'confirmation') {
    const now = service.now();
    const body: Record<string, unknown> = {
      id: String(action.id),
      [key]: { ...handlingOf(action, now), chunks: await chunksOf(ctx, action) },
    };
    const history = await historyOf(ctx, action);
    if (history) body.actionHistory = history;
    return body;
  }

  function installedActionOf(
    target: TargetView,
    actions: readonly ActionView[],
  ): ActionView | undefined {
    if (target.installedDistributionSetId === undefined) return undefined;
    let found: ActionView | undefined;
    for (const a of actions) {
      if (a.status === 'FINISHED' && a.distributionSetId === target.installedDistributionSetId) {
        if (!found || a.id > found.id) found = a;
      }
    }
    return found;
  }

  /** The last history entry is RETRIEVED already: hawkBit then adds none. */
  async function lastStatusIs(action: ActionView, status: string): Promise<boolean> {
    const history = await service.getActionHistory(action.id);
    return history?.at(-1)?.status === status;
  }

  async function record(
    actionId: number,
    event: Parameters<UpdateService['apply']>[1],
  ): Promise<void> {
    const result = await service.apply(actionId, event);
    if (!result.ok && result.code !== 'ACTION_CLOSED')
      logger?.warn(`side effect ${event.type} refused: ${result.message}`);
  }

  // ------------------------------------------------------------ endpoints

  async function contact(ctx: Ctx): Promise<TargetView> {
    const register = options.autoRegister === true && ctx.via !== 'target';
    const address = ctx.req.socket.remoteAddress;
    const known = ctx.target;
    if (
      known &&
      known.updateStatus !== 'UNKNOWN' &&
      known.lastContactAt !== undefined &&
      service.now() - known.lastContactAt < contactInterval &&
      known.channel === 'ddi' &&
      (!address || known.address === `http://${address}`)
    ) {
      return known;
    }
    try {
      return await service.contact(ctx.controllerId, {
        autoRegister: register,
        channel: 'ddi',
        ...(address ? { address: `http://${address}` } : {}),
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'TARGET_NOT_FOUND') {
        throw notFound(`Target with given identifier {${ctx.controllerId}} does not exist.`);
      }
      throw error;
    }
  }

  async function getRoot(ctx: Ctx): Promise<void> {
    const target = await contact(ctx);
    const now = service.now();
    const links: Record<string, { href: string }> = {};
    // One listing serves both links: `nextActionFor` is `selectNextAction` over the same list.
    const actions = await service.listActions(ctx.controllerId);
    const next = selectNextAction(actions);
    if (next?.kind === 'confirmation') {
      links.confirmationBase = {
        href: `${ctx.base}/confirmationBase/${next.action.id}?c=${changeMarker(next.action, now)}`,
      };
    } else if (next?.kind === 'cancel') {
      links.cancelAction = { href: `${ctx.base}/cancelAction/${next.action.id}` };
    } else if (next) {
      links.deploymentBase = {
        href: `${ctx.base}/deploymentBase/${next.action.id}?c=${changeMarker(next.action, now)}`,
      };
    }
    const installed = installedActionOf(target, actions);
    if (installed) links.installedBase = { href: `${ctx.base}/installedBase/${installed.id}` };
    if (target.requestAttributes) links.configData = { href: `${ctx.base}/configData` };
    const body: Record<string, unknown> = { config: { polling: { sleep: pollingSleep } } };
    if (Object.keys(links).length > 0) body._links = links;
    sendJson(ctx, body);
  }

  async function getDeploymentBase(ctx: Ctx, actionId: number): Promise<void> {
    const action = await actionOf(ctx, actionId);
    if (['CANCELING', 'CANCELED', 'WAIT_FOR_CONFIRMATION'].includes(action.status))
      throw empty(404);
    const body = await deploymentJson(ctx, action, 'deployment');
    // Unlike hawkBit, a closed action is shown but not touched.
    if (action.active && !(await lastStatusIs(action, 'RETRIEVED'))) {
      await record(action.id, {
        type: 'action.retrieved',
        at: service.now(),
        messages: [
          'Update Server: Target retrieved update action and should start now the download.',
        ],
      });
    }
    sendJson(ctx, body);
  }

  function feedbackFailure(result: Extract<ApplyResult, { ok: false }>): HttpFailure {
    if (result.code === 'ACTION_CLOSED') return empty(410);
    if (result.code === 'ACTION_NOT_FOUND') return notFound(result.message);
    return empty(404);
  }

  async function postDeploymentFeedback(ctx: Ctx, actionId: number): Promise<void> {
    const body = await readBody(ctx, DdiActionFeedback);
    requireTarget(ctx);
    const mapped = mapDdiFeedback('deployment', {
      execution: body.status.execution,
      finished: body.status.result.finished,
      at: body.timestamp ?? service.now(),
      messages: body.status.details,
      code: body.status.code,
    });
    if (mapped.kind === 'ignored') {
      // Nothing to apply, so nothing checks ownership on the way: read the action for it.
      const record = await service.getAction(actionId);
      if (!record || record.controllerId !== ctx.controllerId) throw notOwned(ctx, actionId);
      if (record.status === 'WAIT_FOR_CONFIRMATION') throw empty(404);
      await applyFeedback(ctx, actionId, mapped);
      return;
    }
    // The ownership-checked apply reads the action once: another target's action is
    // ACTION_NOT_FOUND, a waiting one refuses every deployment report (EVENT_NOT_ALLOWED: 404).
    const result = await service.apply(actionId, mapped.event, { controllerId: ctx.controllerId });
    if (!result.ok) {
      if (result.code === 'ACTION_NOT_FOUND') throw notOwned(ctx, actionId);
      throw feedbackFailure(result);
    }
    sendStatus(ctx.res, 200);
  }

  function notOwned(ctx: Ctx, actionId: number): HttpFailure {
    return notFound(`Not a valid action (${actionId}) for target ${ctx.controllerId}.`);
  }

  async function applyFeedback(
    ctx: Ctx,
    actionId: number,
    mapped: MappingResult,
    closedOk = false,
  ): Promise<void> {
    if (mapped.kind === 'ignored') {
      logger?.warn(`feedback for action ${actionId} ignored: ${mapped.reason}`);
      sendStatus(ctx.res, 200);
      return;
    }
    const result = await service.apply(actionId, mapped.event);
    if (!result.ok && !(closedOk && result.code === 'ACTION_CLOSED')) throw feedbackFailure(result);
    sendStatus(ctx.res, 200);
  }

  async function getCancelAction(ctx: Ctx, actionId: number): Promise<void> {
    const action = await actionOf(ctx, actionId);
    if (action.status !== 'CANCELING' && action.status !== 'CANCELED') throw empty(404);
    if (action.active && !(await lastStatusIs(action, 'RETRIEVED'))) {
      await record(action.id, {
        type: 'action.retrieved',
        at: service.now(),
        messages: [
          'Update Server: Target retrieved cancel action and should start now the cancelation.',
        ],
      });
    }
    sendJson(ctx, { id: String(action.id), cancelAction: { stopId: String(action.id) } });
  }

  async function postCancelFeedback(ctx: Ctx, actionId: number): Promise<void> {
    const body = await readBody(ctx, DdiActionFeedback);
    const action = await actionOf(ctx, actionId);
    if (action.status !== 'CANCELING' && action.status !== 'CANCELED') {
      throw new HttpFailure(405, {
        exceptionClass: 'org.eclipse.hawkbit.repository.exception.CancelActionNotAllowedException',
        errorCode: 'hawkbit.server.error.action.notCancelable',
        message: `Action ${actionId} is not canceling.`,
      });
    }
    const mapped = mapDdiFeedback('cancel', {
      execution: body.status.execution,
      finished: body.status.result.finished,
      at: body.timestamp ?? service.now(),
      messages: body.status.details,
      code: body.status.code,
    });
    // hawkBit answers 200 to a repeated cancel acknowledgement; the closed action stays as it is.
    await applyFeedback(ctx, action.id, mapped, true);
  }

  async function getInstalledBase(ctx: Ctx, actionId: number): Promise<void> {
    const action = await actionOf(ctx, actionId);
    if (action.active || action.status === 'CANCELED' || action.status === 'CANCELING')
      throw empty(404);
    sendJson(ctx, await deploymentJson(ctx, action, 'deployment'));
  }

  async function putInstalledBase(ctx: Ctx): Promise<void> {
    const body = await readBody(ctx, DdiAssignedVersion);
    const target = requireTarget(ctx);
    const set = await service.findDistributionSet(body.name, body.version);
    if (!set)
      throw notFound(
        `DistributionSet with given identifier {${body.name}:${body.version}} does not exist.`,
      );
    if (target.installedDistributionSetId === set.id) {
      sendStatus(ctx.res, 200);
      return;
    }
    // An offline assignment: the set was installed by other means, so its action ends at once.
    const assigned = await service.assign(set.id, [
      { controllerId: ctx.controllerId, type: 'forced' },
    ]);
    let action = assigned.actions[0];
    if (!action)
      action = (await service.listActions(ctx.controllerId)).find(
        (a) => a.active && a.distributionSetId === set.id,
      );
    if (action) {
      const result = await service.apply(action.id, {
        type: 'action.finished',
        result: 'success',
        at: service.now(),
        messages: [
          'Update Server: Distribution set reported as installed by the target (offline assignment).',
        ],
      });
      if (!result.ok) throw feedbackFailure(result);
    }
    sendStatus(ctx.res, 201);
  }

  async function putConfigData(ctx: Ctx): Promise<void> {
    const body = await readBody(ctx, DdiConfigData);
    requireTarget(ctx);
    for (const [key, value] of Object.entries(body.data)) {
      if (key.length > ATTRIBUTE_MAX || (value !== null && value.length > ATTRIBUTE_MAX)) {
        throw new HttpFailure(400, {
          exceptionClass:
            'org.eclipse.hawkbit.repository.exception.InvalidTargetAttributeException',
          errorCode: 'hawkbit.server.error.repo.invalidTargetAttributes',
          message: `Target attribute key and value are limited to ${ATTRIBUTE_MAX} characters.`,
        });
      }
    }
    const mode = body.mode ?? 'merge';
    const present: Record<string, string> = {};
    const nulls: Record<string, string> = {};
    for (const [key, value] of Object.entries(body.data)) {
      if (value === null) nulls[key] = '';
      else present[key] = value;
    }
    if (mode === 'remove')
      await service.updateAttributes(
        ctx.controllerId,
        body.data as Record<string, string>,
        'remove',
      );
    else {
      await service.updateAttributes(ctx.controllerId, present, mode);
      if (mode === 'merge' && Object.keys(nulls).length > 0)
        await service.updateAttributes(ctx.controllerId, nulls, 'remove');
    }
    sendStatus(ctx.res, 200);
  }

  async function getConfirmationBase(ctx: Ctx): Promise<void> {
    const target = await contact(ctx);
    const auto = target.autoConfirm;
    const links: Record<string, { href: string }> = {};
    if (auto?.active)
      links.deactivateAutoConfirm = { href: `${ctx.base}/confirmationBase/deactivateAutoConfirm` };
    else links.activateAutoConfirm = { href: `${ctx.base}/confirmationBase/activateAutoConfirm` };
    const next = await service.nextActionFor(ctx.controllerId);
    if (next?.kind === 'confirmation') {
      links.confirmationBase = {
        href: `${ctx.base}/confirmationBase/${next.action.id}?c=${changeMarker(next.action, service.now())}`,
      };
    }
    const autoConfirm: Record<string, unknown> = { active: auto?.active === true };
    if (auto?.active) {
      if (auto.initiator !== undefined) autoConfirm.initiator = auto.initiator;
      if (auto.remark !== undefined) autoConfirm.remark = auto.remark;
      if (auto.activatedAt !== undefined) autoConfirm.activatedAt = auto.activatedAt;
    }
    sendJson(ctx, { autoConfirm, _links: links });
  }

  async function getConfirmationAction(ctx: Ctx, actionId: number): Promise<void> {
    const action = await actionOf(ctx, actionId);
    if (!action.active || action.status !== 'WAIT_FOR_CONFIRMATION') throw empty(404);
    sendJson(ctx, await deploymentJson(ctx, action, 'confirmation'));
  }

  async function postConfirmationFeedback(ctx: Ctx, actionId: number): Promise<void> {
    const body = await readBody(ctx, DdiConfirmationFeedback);
    const action = await actionOf(ctx, actionId);
    if (!action.active) throw empty(410);
    if (action.status !== 'WAIT_FOR_CONFIRMATION') throw empty(404);
    const mapped = mapDdiConfirmation(body.confirmation, {
      at: service.now(),
      messages: body.details,
      code: body.code,
    });
    await applyFeedback(ctx, action.id, mapped);
  }

  async function activateAutoConfirm(ctx: Ctx): Promise<void> {
    const body = await readBody(ctx, DdiActivateAutoConfirmation, true);
    const target = requireTarget(ctx);
    if (target.autoConfirm?.active) {
      throw new HttpFailure(409, {
        exceptionClass:
          'org.eclipse.hawkbit.repository.exception.AutoConfirmationAlreadyActiveException',
        errorCode: 'hawkbit.server.error.repo.autoConfAlreadyActive',
        message: `Auto confirmation is already active for target ${ctx.controllerId}.`,
      });
    }
    await service.setAutoConfirm(ctx.controllerId, {
      active: true,
      remark: body.remark ?? DEFAULT_REMARK,
      ...(body.initiator !== undefined ? { initiator: body.initiator } : {}),
    });
    sendStatus(ctx.res, 200);
  }

  async function deactivateAutoConfirm(ctx: Ctx): Promise<void> {
    requireTarget(ctx);
    for await (const _ of ctx.req) {
      // The body, if any, means nothing; it is read only to keep the connection reusable.
    }
    await service.setAutoConfirm(ctx.controllerId, { active: false });
    sendStatus(ctx.res, 200);
  }

  /** The module, when one of the target's actions (or its installed set, if allowed) holds it. */
  async function moduleFor(
    ctx: Ctx,
    moduleId: number,
    allowInstalled: boolean,
  ): Promise<SoftwareModule> {
    const target = requireTarget(ctx);
    const missing = notFound(`SoftwareModule with given identifier {${moduleId}} does not exist.`);
    const module = await service.store.getSoftwareModule(moduleId);
    if (!module) throw missing;
    const sets = new Set<number>();
    for (const a of await service.listActions(ctx.controllerId)) {
      if (a.active && a.status !== 'CANCELING') sets.add(a.distributionSetId);
    }
    if (allowInstalled && target.installedDistributionSetId !== undefined)
      sets.add(target.installedDistributionSetId);
    for (const id of sets) {
      const set = await service.store.getDistributionSet(id);
      if (set?.modules.includes(moduleId)) return module;
    }
    throw missing;
  }

  async function getArtifacts(ctx: Ctx, moduleId: number): Promise<void> {
    const module = await moduleFor(ctx, moduleId, true);
    sendJson(
      ctx,
      module.artifacts.map((a) => artifactJson(ctx, module, a)),
    );
  }

  async function getArtifact(ctx: Ctx, moduleId: number, filename: string): Promise<void> {
    if (!isSafeArtifactName(filename)) throw empty(404);
    const module = await moduleFor(ctx, moduleId, false);
    let artifact = module.artifacts.find((a) => a.filename === filename);
    const md5sum = !artifact && filename.endsWith('.MD5SUM');
    if (md5sum) artifact = module.artifacts.find((a) => `${a.filename}.MD5SUM` === filename);
    if (!artifact) throw notFound(`Artifact with given identifier {${filename}} does not exist.`);
    const info = await artifacts.stat(moduleId, artifact.filename);
    if (!info) throw notFound(`Artifact with given identifier {${filename}} has no content.`);
    const { req, res } = ctx;
    if (req.method === 'GET' && (md5sum || req.headers.range === undefined)) {
      for (const a of await service.listActions(ctx.controllerId)) {
        if (!a.active || a.status === 'CANCELING' || a.status === 'WAIT_FOR_CONFIRMATION') continue;
        if (
          !(await service.store.getDistributionSet(a.distributionSetId))?.modules.includes(moduleId)
        )
          continue;
        await record(a.id, {
          type: 'action.download',
          at: service.now(),
          messages: [`Update Server: Target downloads ${req.url}`],
        });
        break;
      }
    }
    if (md5sum) {
      const text = `${artifact.hashes.md5.toLowerCase()}  ${artifact.filename}`;
      res.statusCode = 200;
      res.setHeader('Content-Type', 'text/plain');
      res.setHeader('Content-Disposition', `attachment;filename=${artifact.filename}.MD5SUM`);
      res.setHeader('Content-Length', Buffer.byteLength(text, 'ascii'));
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    await serveArtifact(
      req,
      res,
      {
        moduleId,
        filename: artifact.filename,
        size: info.size,
        sha1: artifact.hashes.sha1.toLowerCase(),
        lastModified: info.lastModified ?? artifact.createdAt,
      },
      artifacts,
    );
  }

  // ------------------------------------------------------------ dispatch

  function authenticate(req: IncomingMessage, target: TargetView | undefined): Via | undefined {
    const header = req.headers.authorization;
    if (header === undefined) return options.auth.anonymous ? 'anonymous' : undefined;
    if (options.auth.targetToken && header.startsWith('TargetToken ')) {
      const token = header.slice('TargetToken '.length);
      return target && safeEqual(token, target.securityToken) ? 'target' : undefined;
    }
    const gateway = options.auth.gatewayToken;
    if (gateway && header.startsWith('GatewayToken ')) {
      if (gatewayKey?.text !== gateway) gatewayKey = { text: gateway, bytes: Buffer.from(gateway) };
      return safeEqual(header.slice('GatewayToken '.length), gatewayKey.bytes)
        ? 'gateway'
        : undefined;
    }
    return undefined;
  }

  /** Not async itself: the endpoint's promise is handed on, an unknown route throws at once. */
  function dispatch(ctx: Ctx, route: Route): Promise<void> {
    switch (route.kind) {
      case 'root':
        return getRoot(ctx);
      case 'deploymentBase':
        return getDeploymentBase(ctx, route.actionId);
      case 'deploymentFeedback':
        return postDeploymentFeedback(ctx, route.actionId);
      case 'cancelAction':
        return getCancelAction(ctx, route.actionId);
      case 'cancelFeedback':
        return postCancelFeedback(ctx, route.actionId);
      case 'installedBase':
        return getInstalledBase(ctx, route.actionId);
      case 'putInstalledBase':
        return putInstalledBase(ctx);
      case 'configData':
        return putConfigData(ctx);
      case 'confirmationBase':
        return getConfirmationBase(ctx);
      case 'confirmationAction':
        return getConfirmationAction(ctx, route.actionId);
      case 'confirmationFeedback':
        return postConfirmationFeedback(ctx, route.actionId);
      case 'activateAutoConfirm':
        return activateAutoConfirm(ctx);
      case 'deactivateAutoConfirm':
        return deactivateAutoConfirm(ctx);
      case 'artifacts':
        return getArtifacts(ctx, route.moduleId);
      case 'artifact':
        return getArtifact(ctx, route.moduleId, route.filename);
      case 'unknown':
        throw empty(404);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const segments = (q < 0 ? url : url.slice(0, q)).split('/');
    if (
      segments.length < 5 ||
      segments[0] !== '' ||
      segments[2] !== 'controller' ||
      segments[3] !== 'v1'
    )
      return false;
    const tenantSegment = segments[1]!;
    if (tenantSegment.toLowerCase() !== tenantLower) return false;
    try {
      let controllerId: string;
      try {
        const segment = segments[4]!;
        controllerId = segment.includes('%') ? decodeURIComponent(segment) : segment;
      } catch {
        throw notReadable('controllerId is not valid URL encoding');
      }
      if (!ControllerId.safeParse(controllerId).success) {
        throw new HttpFailure(400, {
          exceptionClass: 'org.eclipse.hawkbit.repository.exception.ConstraintViolationException',
          errorCode: 'hawkbit.server.error.repo.constraintViolation',
          message: 'controllerId must be 1 to 256 characters without white space, slashes, ? or #',
        });
      }
      const target = await service.getTarget(controllerId);
      const via = authenticate(req, target);
      if (!via) throw empty(401);
      const route = routeOf(segments, 5);
      const allowed = METHODS[route.kind];
      if (route.kind !== 'unknown' && !allowed.includes(req.method ?? '')) {
        res.setHeader('Allow', allowed.join(', '));
        throw empty(405);
      }
      const jsonGet = req.method === 'GET' && route.kind !== 'artifact';
      if (jsonGet && negotiate(req.headers.accept) === undefined) throw empty(406);
      const ctx = new Ctx(req, res, tenantSegment, controllerId, target, via, publicBase);
      await dispatch(ctx, route);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
      } else if (error instanceof HttpFailure) {
        sendStatus(res, error.status, error.body);
      } else {
        logger?.error(`DDI ${req.method} ${url} failed`, error);
        sendStatus(res, 500, {
          exceptionClass: 'java.lang.RuntimeException',
          errorCode: 'hawkbit.server.error.unknown',
          message: 'internal server error',
        });
      }
    }
    return true;
  }

  return { handle };
}
