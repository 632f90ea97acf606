import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@otaflow/core';
import { Agent, type Dispatcher, request } from 'undici';
import type { z } from 'zod';
import { DdiError } from './DdiError.js';
import { isSafeArtifactName } from './FileArtifactSource.js';
import { parsePollingSleep } from './pollingSleep.js';
import {
  type DdiActionFeedback,
  type DdiArtifact,
  DdiArtifacts,
  DdiCancel,
  DdiConfirmationBase,
  DdiConfirmationBaseAction,
  DdiControllerBase,
  type DdiDeployment,
  DdiDeploymentBase,
  type DdiExecutionStatus,
  type DdiFinishedStatus,
  type DdiProgress,
  type DdiUpdateMode,
} from './schemas.js';

/** One downloaded and verified artifact. */
export interface DdiDownloadedArtifact {
  chunk: { part: string; name: string; version: string };
  artifact: DdiArtifact;
  path: string;
}

export interface DdiInstallJob {
  actionId: string;
  deployment: DdiDeployment;
  files: DdiDownloadedArtifact[];
  signal: AbortSignal;
  /** Sends a `proceeding` feedback with these details (and progress). */
  report(details: string[], progress?: DdiProgress): Promise<void>;
}

export interface DdiInstallResult {
  success: boolean;
  details?: string[];
  code?: number;
}

/** Installs what the client downloaded; a thrown error counts as a failed installation. */
export interface DdiInstaller {
  install(job: DdiInstallJob): Promise<DdiInstallResult>;
}

export type DdiProgressEvent =
  | { phase: 'download'; actionId: string; filename: string; received: number; total: number }
  | { phase: 'downloaded' | 'installing' | 'skipped' | 'deferred'; actionId: string }
  | { phase: 'finished'; actionId: string; success: boolean }
  | { phase: 'canceled' | 'cancelRejected'; actionId: string }
  | { phase: 'confirmed' | 'denied'; actionId: string };

export interface DdiConfirmDecision {
  confirmed: boolean;
  details?: string[];
  code?: number;
}

export interface DdiClientOptions {
  /** Scheme, host and port of the DDI server, e.g. `https://device.example.com`. */
  baseUrl: string;
  tenant: string;
  controllerId: string;
  targetToken?: string;
  gatewayToken?: string;
  installer: DdiInstaller;
  /** Artifacts are stored under `<downloadDir>/<actionId>/`. */
  downloadDir: string;
  onProgress?: (event: DdiProgressEvent) => void;
  /** Asked when the server wants consent; without it, consent requests stay unanswered. */
  confirm?: (action: DdiConfirmationBaseAction) => DdiConfirmDecision | Promise<DdiConfirmDecision>;
  /** Accept (true, the default) or refuse a cancel request. */
  onCancel?: (actionId: string) => boolean | Promise<boolean>;
  /** Whether to take an `attempt` update now (default true); `forced` ones are always taken. */
  acceptAttempt?: (actionId: string, deployment: DdiDeployment) => boolean | Promise<boolean>;
  /** Attributes sent when the server asks for configData. */
  configData?: () => { data: Record<string, string>; mode?: DdiUpdateMode } | undefined;
  /** Sleep before the first answer names one (default 5 min). */
  defaultSleepMs?: number;
  /** Each sleep is varied by up to ± this fraction (default 0.1). */
  jitter?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * How feedback is retried after a network error, a timeout, 408, 429 or 5xx (never after
   * another 4xx such as 410 Gone): `retries` more attempts (default 6), waiting from `initialMs`
   * (default 500) doubling up to `maxMs` (default 30 s), each wait jittered between half and all
   * of it and at least the server's `Retry-After`; one attempt may take `timeoutMs` (default 30 s).
   */
  feedbackRetry?: FeedbackRetry;
  /** Resumes of one broken download before it fails (default 5), waiting `resumeDelayMs` between. */
  maxResumes?: number;
  resumeDelayMs?: number;
  /** An undici dispatcher (Agent, Pool, ProxyAgent); a keep-alive Agent by default. */
  dispatcher?: Dispatcher;
  /** pino-compatible; silent by default. */
  logger?: Logger;
}

export interface FeedbackRetry {
  retries?: number;
  initialMs?: number;
  maxMs?: number;
  timeoutMs?: number;
}

/** What one polling cycle did; `actionId` is set for everything but `idle`. */
export interface DdiPollOutcome {
  kind:
    | 'idle'
    | 'deferred'
    | 'waiting'
    | 'installed'
    | 'failed'
    | 'downloaded'
    | 'canceled'
    | 'cancelRejected'
    | 'confirmed'
    | 'denied'
    | 'unconfirmed';
  sleepMs: number;
  actionId?: string;
}

interface JsonResult<T> {
  status: 200;
  data: T;
  etag?: string;
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** Worth another try: the network, a timeout, or a status that says "later". */
function isTransient(error: unknown): boolean {
  if (!(error instanceof DdiError)) return false;
  if (error.code === 'NETWORK') return true;
  const status = error.status ?? 0;
  return error.code === 'HTTP_STATUS' && (RETRY_STATUSES.has(status) || status >= 500);
}

/** `Retry-After` in milliseconds (seconds or an HTTP date), or 0. */
function retryAfterMs(error: unknown): number {
  const value = ((error as DdiError).details as { retryAfter?: string } | undefined)?.retryAfter;
  if (value === undefined) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : 0;
}

function stripQuery(href: string): string {
  const q = href.indexOf('?');
  return q < 0 ? href : href.slice(0, q);
}

/** Feedback time in hawkBit's legacy `time` format, for servers that still want it. */
function legacyTime(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').slice(0, 15);
}

/**
 * A DDI v1 device client (hawkBit, Bosch IoT Rollouts). `start()` runs the polling loop;
 * `pollOnce()` runs one cycle and tells what happened, for tests and custom loops.
 */
export class DdiClient {
  readonly #o: DdiClientOptions;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #root: string;
  #stop = new AbortController();
  #running: Promise<void> | undefined;
  #rootEtag: string | undefined;
  #rootCache: DdiControllerBase | undefined;
  /** Actions whose artifacts are downloaded and verified, waiting for their window. */
  readonly #downloaded = new Map<string, DdiDownloadedArtifact[]>();
  /** Actions this client closed; a server that still lists one is not served twice. */
  readonly #closed = new Set<string>();
  /** Final reports not delivered yet, by action: sent again instead of installing again. */
  readonly #unsentFinal = new Map<
    string,
    { url: string; body: DdiActionFeedback; outcome: 'installed' | 'failed' | 'downloaded' }
  >();

  constructor(options: DdiClientOptions) {
    if (options.targetToken && options.gatewayToken) {
      throw new DdiError(
        'INVALID_OPTIONS',
        'give either a target token or a gateway token, not both',
      );
    }
    this.#o = options;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher =
      options.dispatcher ?? new Agent({ keepAliveTimeout: 60_000, connections: 4 });
    const base = options.baseUrl.replace(/\/+$/, '');
    this.#root = `${base}/${encodeURIComponent(options.tenant)}/controller/v1/${encodeURIComponent(options.controllerId)}`;
  }

  /** `<base>/<tenant>/controller/v1/<controllerId>` */
  get rootUrl(): string {
    return this.#root;
  }

  // ---------------------------------------------------------------- HTTP

  #headers(json: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      accept: json ? 'application/json' : 'application/octet-stream',
    };
    if (this.#o.targetToken) headers.authorization = `TargetToken ${this.#o.targetToken}`;
    else if (this.#o.gatewayToken) headers.authorization = `GatewayToken ${this.#o.gatewayToken}`;
    return headers;
  }

  async #call(
    method: Dispatcher.HttpMethod,
    url: string,
    body?: unknown,
    extra: Record<string, string> = {},
    timeoutMs?: number,
  ): Promise<Dispatcher.ResponseData> {
    const headers = { ...this.#headers(true), ...extra };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    try {
      return await request(url, {
        method,
        headers,
        body: payload,
        dispatcher: this.#dispatcher,
        signal:
          timeoutMs === undefined
            ? this.#stop.signal
            : AbortSignal.any([this.#stop.signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (error) {
      if (this.#stop.signal.aborted) throw new DdiError('ABORTED', 'client stopped');
      throw new DdiError(
        'NETWORK',
        `${method} ${url}: ${(error as Error).message}`,
        undefined,
        error,
      );
    }
  }

  async #fail(method: string, url: string, res: Dispatcher.ResponseData): Promise<never> {
    const text = await res.body.text().catch(() => '');
    const retryAfter = res.headers['retry-after'];
    throw new DdiError(
      'HTTP_STATUS',
      `${method} ${url} answered ${res.statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`,
      res.statusCode,
      {
        retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
      },
    );
  }

  async #getJson<S extends z.ZodType>(
    url: string,
    schema: S,
    etag?: string,
  ): Promise<JsonResult<z.infer<S>> | { status: 304 }> {
    const res = await this.#call('GET', url, undefined, etag ? { 'if-none-match': etag } : {});
    if (res.statusCode === 304) {
      await res.body.dump();
      return { status: 304 };
    }
    if (res.statusCode !== 200) return this.#fail('GET', url, res);
    let json: unknown;
    try {
      json = await res.body.json();
    } catch (error) {
      throw new DdiError('INVALID_RESPONSE', `GET ${url}: body is not JSON`, 200, error);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new DdiError(
        'INVALID_RESPONSE',
        `GET ${url}: ${parsed.error.message}`,
        200,
        parsed.error.issues,
      );
    const tag = res.headers.etag;
    return { status: 200, data: parsed.data, ...(typeof tag === 'string' ? { etag: tag } : {}) };
  }

  async #get<S extends z.ZodType>(url: string, schema: S): Promise<z.infer<S>> {
    const result = await this.#getJson(url, schema);
    if (result.status === 304)
      throw new DdiError('INVALID_RESPONSE', `GET ${url}: unexpected 304`, 304);
    return result.data;
  }

  async #send(
    method: 'POST' | 'PUT',
    url: string,
    body?: unknown,
    timeoutMs?: number,
  ): Promise<number> {
    const res = await this.#call(method, url, body, {}, timeoutMs);
    if (res.statusCode < 200 || res.statusCode > 299) return this.#fail(method, url, res);
    try {
      await res.body.dump();
    } catch (error) {
      // The answer was given; a body cut short after it changes nothing.
      this.#o.logger?.debug({ err: error, url }, 'answer body cut short');
    }
    return res.statusCode;
  }

  /**
   * POSTs a report, again after transient failures (see `feedbackRetry`). A 410 Gone on a retry
   * means an earlier attempt did arrive and closed the action, so it counts as delivered.
   */
  async #post(url: string, body: unknown): Promise<void> {
    const retry = this.#o.feedbackRetry ?? {};
    const retries = retry.retries ?? 6;
    const initial = retry.initialMs ?? 500;
    const max = retry.maxMs ?? 30_000;
    const timeoutMs = retry.timeoutMs ?? 30_000;
    const signal = this.#stop.signal;
    let lost = false;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#send('POST', url, body, timeoutMs);
        return;
      } catch (error) {
        if (lost && error instanceof DdiError && error.status === 410) {
          this.#o.logger?.info({ url, attempt }, 'feedback had arrived before (410 on a retry)');
          return;
        }
        if (signal.aborted) throw new DdiError('ABORTED', 'client stopped');
        if (!isTransient(error) || attempt >= retries) throw error;
        if ((error as DdiError).code === 'NETWORK') lost = true;
        const base = Math.min(max, initial * 2 ** attempt);
        const wait = Math.min(
          max,
          Math.max(retryAfterMs(error), Math.round(base / 2 + (Math.random() * base) / 2)),
        );
        this.#o.logger?.warn({ err: error, url, attempt, retryInMs: wait }, 'feedback retried');
        await delay(wait, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) throw new DdiError('ABORTED', 'client stopped');
      }
    }
  }

  /**
   * A progress report (download, downloaded, proceeding): retried, and then only logged if it
   * still fails, since a lost progress report must not fail a good installation.
   */
  async #progress(
    actionId: string,
    execution: DdiExecutionStatus,
    extra: { details?: string[]; progress?: DdiProgress; feedbackUrl: string },
    finished: DdiFinishedStatus = 'none',
  ): Promise<void> {
    try {
      await this.sendFeedback(actionId, execution, finished, extra);
    } catch (error) {
      if (error instanceof DdiError && error.code === 'ABORTED') throw error;
      this.#o.logger?.warn({ err: error, actionId, execution }, 'progress report lost');
    }
  }

  // ---------------------------------------------------------------- resources

  /** GET the controller base, with `If-None-Match` so an unchanged answer costs a 304. */
  async getControllerBase(): Promise<DdiControllerBase> {
    const result = await this.#getJson(
      this.#root,
      DdiControllerBase,
      this.#rootCache ? this.#rootEtag : undefined,
    );
    if (result.status === 304 && this.#rootCache) return this.#rootCache;
    if (result.status === 304) throw new DdiError('INVALID_RESPONSE', 'unexpected 304', 304);
    this.#rootCache = result.data;
    this.#rootEtag = result.etag;
    return result.data;
  }

  getDeploymentBase(href: string): Promise<DdiDeploymentBase> {
    return this.#get(href, DdiDeploymentBase);
  }

  getCancelAction(href: string): Promise<DdiCancel> {
    return this.#get(href, DdiCancel);
  }

  getConfirmationBase(): Promise<DdiConfirmationBase> {
    return this.#get(`${this.#root}/confirmationBase`, DdiConfirmationBase);
  }

  getConfirmationAction(href: string): Promise<DdiConfirmationBaseAction> {
    return this.#get(href, DdiConfirmationBaseAction);
  }

  /** The installed action's deployment (the `installedBase` link of the controller base). */
  getInstalledBase(href: string): Promise<DdiDeploymentBase> {
    return this.#get(href, DdiDeploymentBase);
  }

  getArtifacts(moduleId: number | string): Promise<DdiArtifact[]> {
    return this.#get(`${this.#root}/softwaremodules/${moduleId}/artifacts`, DdiArtifacts);
  }

  /** Any feedback on `deploymentBase/{id}/feedback`; `feedbackUrl` overrides the canonical URL. */
  async sendFeedback(
    actionId: string,
    execution: DdiExecutionStatus,
    finished: DdiFinishedStatus,
    extra: { details?: string[]; progress?: DdiProgress; code?: number; feedbackUrl?: string } = {},
  ): Promise<void> {
    const url = extra.feedbackUrl ?? `${this.#root}/deploymentBase/${actionId}/feedback`;
    await this.#post(url, this.#feedbackBody(actionId, execution, finished, extra));
  }

  #feedbackBody(
    actionId: string,
    execution: DdiExecutionStatus,
    finished: DdiFinishedStatus,
    extra: { details?: string[]; progress?: DdiProgress; code?: number },
  ): DdiActionFeedback {
    const now = new Date();
    const result: DdiActionFeedback['status']['result'] = { finished };
    if (extra.progress) result.progress = extra.progress;
    const status: DdiActionFeedback['status'] = { execution, result };
    if (extra.details && extra.details.length > 0) status.details = extra.details;
    if (extra.code !== undefined) status.code = extra.code;
    return { id: actionId, time: legacyTime(now), timestamp: now.getTime(), status };
  }

  /** Accepts (`closed`) or refuses (`rejected`) a cancel request. */
  async sendCancelFeedback(
    actionId: string,
    accept: boolean,
    details?: string[],
    cancelHref?: string,
  ): Promise<void> {
    const url = `${stripQuery(cancelHref ?? `${this.#root}/cancelAction/${actionId}`)}/feedback`;
    const body = accept
      ? this.#feedbackBody(actionId, 'closed', 'success', {
          details: details ?? ['Cancellation accepted.'],
        })
      : this.#feedbackBody(actionId, 'rejected', 'none', {
          details: details ?? ['Cancellation rejected.'],
        });
    await this.#post(url, body);
  }

  async sendConfirmation(
    actionId: string,
    decision: DdiConfirmDecision,
    confirmationHref?: string,
  ): Promise<void> {
    const url = `${stripQuery(confirmationHref ?? `${this.#root}/confirmationBase/${actionId}`)}/feedback`;
    const body: Record<string, unknown> = {
      confirmation: decision.confirmed ? 'confirmed' : 'denied',
    };
    if (decision.code !== undefined) body.code = decision.code;
    if (decision.details) body.details = decision.details;
    await this.#post(url, body);
  }

  async activateAutoConfirm(initiator?: string, remark?: string): Promise<void> {
    const body: Record<string, string> = {};
    if (initiator !== undefined) body.initiator = initiator;
    if (remark !== undefined) body.remark = remark;
    await this.#send('POST', `${this.#root}/confirmationBase/activateAutoConfirm`, body);
  }

  async deactivateAutoConfirm(): Promise<void> {
    await this.#send('POST', `${this.#root}/confirmationBase/deactivateAutoConfirm`);
  }

  async putConfigData(
    data: Record<string, string | null>,
    mode: DdiUpdateMode = 'merge',
    href?: string,
  ): Promise<void> {
    await this.#send('PUT', href ?? `${this.#root}/configData`, { mode, data });
  }

  /** Reports a set as installed by other means; true when the server assigned it now (201). */
  async putInstalledBase(name: string, version: string): Promise<boolean> {
    return (await this.#send('PUT', `${this.#root}/installedBase`, { name, version })) === 201;
  }

  // ---------------------------------------------------------------- download

  /**
   * Downloads one artifact to `path`, resuming with `Range` (and `If-Range`) after a broken
   * connection, and verifies sha256, else sha1, else md5.
   */
  async downloadArtifact(artifact: DdiArtifact, path: string, actionId = ''): Promise<void> {
    const href = artifact._links?.download?.href ?? artifact._links?.['download-http']?.href;
    if (!href)
      throw new DdiError('INVALID_RESPONSE', `artifact ${artifact.filename} has no download link`);
    const [algorithm, expected] = artifact.hashes.sha256
      ? ['sha256', artifact.hashes.sha256]
      : artifact.hashes.sha1
        ? ['sha1', artifact.hashes.sha1]
        : artifact.hashes.md5
          ? ['md5', artifact.hashes.md5]
          : [];
    if (!algorithm || !expected)
      throw new DdiError('NO_HASH', `artifact ${artifact.filename} has no hash to verify`);
    const maxResumes = this.#o.maxResumes ?? 5;
    let hash: Hash = createHash(algorithm);
    let received = 0;
    let etag: string | undefined;
    const file = await open(path, 'w');
    try {
      for (let attempt = 0; ; attempt++) {
        const headers = this.#headers(false);
        if (received > 0) {
          headers.range = `bytes=${received}-`;
          if (etag) headers['if-range'] = etag;
        }
        try {
          let res: Dispatcher.ResponseData;
          try {
            res = await request(href, {
              headers,
              dispatcher: this.#dispatcher,
              signal: this.#stop.signal,
            });
          } catch (error) {
            throw new DdiError(
              'NETWORK',
              `GET ${href}: ${(error as Error).message}`,
              undefined,
              error,
            );
          }
          if (res.statusCode === 416 && received === artifact.size) {
            await res.body.dump();
            break;
          }
          if (res.statusCode === 200 && received > 0) {
            // The server sent the whole file again: start over.
            received = 0;
            hash = createHash(algorithm);
            await file.truncate(0);
          } else if (res.statusCode === 206) {
            const range = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
            if (!range || Number(range[1]) !== received) {
              await res.body.dump();
              throw new DdiError('DOWNLOAD_FAILED', `GET ${href}: resumed at the wrong offset`);
            }
          } else if (res.statusCode !== 200) {
            await this.#fail('GET', href, res);
          }
          const tag = res.headers.etag;
          if (typeof tag === 'string' && !tag.startsWith('W/')) etag = tag;
          try {
            for await (const chunk of res.body) {
              const buf = chunk as Buffer;
              await file.write(buf, 0, buf.length, received);
              hash.update(buf);
              received += buf.length;
              this.#o.onProgress?.({
                phase: 'download',
                actionId,
                filename: artifact.filename,
                received,
                total: artifact.size,
              });
            }
          } catch (error) {
            throw new DdiError(
              'NETWORK',
              `GET ${href}: body broke off at ${received}: ${(error as Error).message}`,
              undefined,
              error,
            );
          }
          if (received < artifact.size)
            throw new DdiError(
              'DOWNLOAD_FAILED',
              `GET ${href}: got ${received} of ${artifact.size} bytes`,
            );
          break;
        } catch (error) {
          if (this.#stop.signal.aborted) throw new DdiError('ABORTED', 'client stopped');
          const retryable =
            error instanceof DdiError &&
            (error.code !== 'HTTP_STATUS' || RETRY_STATUSES.has(error.status ?? 0));
          if (!retryable || attempt >= maxResumes) throw error;
          this.#o.logger?.warn(
            { err: error, filename: artifact.filename, offset: received },
            'download resumes',
          );
          await delay(this.#o.resumeDelayMs ?? 500, undefined, { signal: this.#stop.signal }).catch(
            () => undefined,
          );
        }
      }
    } finally {
      await file.close();
    }
    const actual = hash.digest('hex');
    if (actual !== expected.toLowerCase()) {
      throw new DdiError(
        'HASH_MISMATCH',
        `${artifact.filename}: ${algorithm} is ${actual}, expected ${expected}`,
      );
    }
  }

  // ---------------------------------------------------------------- cycle

  #sleepOf(base: DdiControllerBase | undefined): number {
    if (!base) return this.#o.defaultSleepMs ?? 300_000;
    try {
      return parsePollingSleep(base.config.polling.sleep);
    } catch (error) {
      this.#o.logger?.warn(
        { err: error },
        'server sent an unreadable polling sleep; using the default',
      );
      return this.#o.defaultSleepMs ?? 300_000;
    }
  }

  /** One polling cycle: controller base, then whatever it links to. */
  async pollOnce(): Promise<DdiPollOutcome> {
    const base = await this.getControllerBase();
    const sleepMs = this.#sleepOf(base);
    const links = base._links ?? {};
    if (links.configData && this.#o.configData) {
      const config = this.#o.configData();
      if (config)
        await this.putConfigData(config.data, config.mode ?? 'merge', links.configData.href);
    }
    if (links.cancelAction)
      return { ...(await this.#handleCancel(links.cancelAction.href)), sleepMs };
    if (links.confirmationBase)
      return { ...(await this.#handleConfirmation(links.confirmationBase.href)), sleepMs };
    if (links.deploymentBase)
      return { ...(await this.#handleDeployment(links.deploymentBase.href)), sleepMs };
    return { kind: 'idle', sleepMs };
  }

  async #handleCancel(href: string) {
    const cancel = await this.getCancelAction(href);
    const actionId = cancel.cancelAction.stopId;
    const accept = this.#o.onCancel ? await this.#o.onCancel(actionId) : true;
    await this.sendCancelFeedback(cancel.id, accept, undefined, href);
    if (accept) {
      this.#downloaded.delete(actionId);
      await rm(join(this.#o.downloadDir, actionId), { recursive: true, force: true });
    }
    this.#o.onProgress?.({ phase: accept ? 'canceled' : 'cancelRejected', actionId });
    return { kind: accept ? ('canceled' as const) : ('cancelRejected' as const), actionId };
  }

  async #handleConfirmation(href: string) {
    const action = await this.getConfirmationAction(href);
    if (!this.#o.confirm) return { kind: 'unconfirmed' as const, actionId: action.id };
    const decision = await this.#o.confirm(action);
    await this.sendConfirmation(action.id, decision, href);
    this.#o.onProgress?.({
      phase: decision.confirmed ? 'confirmed' : 'denied',
      actionId: action.id,
    });
    return {
      kind: decision.confirmed ? ('confirmed' as const) : ('denied' as const),
      actionId: action.id,
    };
  }

  async #handleDeployment(href: string): Promise<Omit<DdiPollOutcome, 'sleepMs'>> {
    const base = await this.getDeploymentBase(href);
    const actionId = base.id;
    const { deployment } = base;
    const feedbackUrl = `${stripQuery(href)}/feedback`;
    if (this.#closed.has(actionId)) {
      // Installed (or failed) already: the server only lacks the final report.
      const outcome = await this.#deliverFinal(actionId);
      return { kind: outcome ?? 'waiting', actionId };
    }
    const download = deployment.download ?? 'forced';
    const update = deployment.update ?? 'forced';
    if (download === 'skip') return { kind: 'waiting', actionId };
    if (download === 'attempt' && update !== 'forced' && this.#o.acceptAttempt) {
      if (!(await this.#o.acceptAttempt(actionId, deployment))) {
        this.#o.onProgress?.({ phase: 'deferred', actionId });
        return { kind: 'deferred', actionId };
      }
    }
    let files = this.#downloaded.get(actionId);
    if (!files) {
      try {
        files = await this.#downloadAll(actionId, deployment, feedbackUrl);
      } catch (error) {
        if (error instanceof DdiError && error.code === 'ABORTED') throw error;
        await this.#close(
          actionId,
          false,
          [`Download failed: ${(error as Error).message}`],
          feedbackUrl,
        );
        return { kind: 'failed', actionId };
      }
      const details = ['Artifacts downloaded and verified.'];
      if (update === 'skip' && !deployment.maintenanceWindow) {
        // Download only: `downloaded` is the final report, the server closes the action on it.
        this.#unsentFinal.set(actionId, {
          url: feedbackUrl,
          body: this.#feedbackBody(actionId, 'downloaded', 'success', { details }),
          outcome: 'downloaded',
        });
        this.#closed.add(actionId);
        await this.#deliverFinal(actionId);
        this.#o.onProgress?.({ phase: 'downloaded', actionId });
        return { kind: 'downloaded', actionId };
      }
      this.#downloaded.set(actionId, files);
      await this.#progress(actionId, 'downloaded', { details, feedbackUrl }, 'success');
      this.#o.onProgress?.({ phase: 'downloaded', actionId });
    }
    if (update === 'skip') {
      // Download only (the server closes the action on `downloaded`), or a window not open yet.
      if (!deployment.maintenanceWindow) {
        this.#closed.add(actionId);
        this.#downloaded.delete(actionId);
        return { kind: 'downloaded', actionId };
      }
      return { kind: 'waiting', actionId };
    }
    await this.#progress(actionId, 'proceeding', { details: ['Installing.'], feedbackUrl });
    this.#o.onProgress?.({ phase: 'installing', actionId });
    let result: DdiInstallResult;
    try {
      result = await this.#o.installer.install({
        actionId,
        deployment,
        files,
        signal: this.#stop.signal,
        // Never rejects but when the client stops: only the device's own failure fails it.
        report: (details, progress) =>
          this.#progress(actionId, 'proceeding', {
            details,
            feedbackUrl,
            ...(progress ? { progress } : {}),
          }),
      });
    } catch (error) {
      result = { success: false, details: [`Installation failed: ${(error as Error).message}`] };
    }
    await this.#close(
      actionId,
      result.success,
      result.details ?? [result.success ? 'Installed.' : 'Installation failed.'],
      feedbackUrl,
      result.code,
    );
    return { kind: result.success ? 'installed' : 'failed', actionId };
  }

  async #downloadAll(
    actionId: string,
    deployment: DdiDeployment,
    feedbackUrl: string,
  ): Promise<DdiDownloadedArtifact[]> {
    const dir = join(this.#o.downloadDir, actionId);
    await mkdir(dir, { recursive: true });
    const all = deployment.chunks.flatMap((chunk) =>
      chunk.artifacts.map((artifact) => ({ chunk, artifact })),
    );
    await this.#progress(actionId, 'download', {
      details: [`Downloading ${all.length} artifact(s).`],
      feedbackUrl,
    });
    const files: DdiDownloadedArtifact[] = [];
    for (const [i, { chunk, artifact }] of all.entries()) {
      if (!isSafeArtifactName(artifact.filename)) {
        throw new DdiError(
          'INVALID_RESPONSE',
          `artifact name ${JSON.stringify(artifact.filename)} is not a plain file name`,
        );
      }
      const path = join(dir, `${i}-${artifact.filename}`);
      await this.downloadArtifact(artifact, path, actionId);
      files.push({
        chunk: { part: chunk.part, name: chunk.name, version: chunk.version },
        artifact,
        path,
      });
    }
    return files;
  }

  async #close(
    actionId: string,
    success: boolean,
    details: string[],
    feedbackUrl: string,
    code?: number,
  ): Promise<void> {
    const body = this.#feedbackBody(actionId, 'closed', success ? 'success' : 'failure', {
      details,
      ...(code !== undefined ? { code } : {}),
    });
    // Kept until the server has it: a later cycle sends it again rather than installing again.
    this.#unsentFinal.set(actionId, {
      url: feedbackUrl,
      body,
      outcome: success ? 'installed' : 'failed',
    });
    this.#closed.add(actionId);
    this.#downloaded.delete(actionId);
    await this.#deliverFinal(actionId);
  }

  /** Sends the action's final report, if one is waiting; resolves what it reported. */
  async #deliverFinal(
    actionId: string,
  ): Promise<'installed' | 'failed' | 'downloaded' | undefined> {
    const unsent = this.#unsentFinal.get(actionId);
    if (!unsent) return undefined;
    try {
      await this.#post(unsent.url, unsent.body);
    } catch (error) {
      // 410 and the like: the server will never take it; anything transient is tried again.
      if (!isTransient(error) && !(error instanceof DdiError && error.code === 'ABORTED'))
        this.#unsentFinal.delete(actionId);
      throw error;
    }
    this.#unsentFinal.delete(actionId);
    if (unsent.outcome !== 'downloaded')
      this.#o.onProgress?.({
        phase: 'finished',
        actionId,
        success: unsent.outcome === 'installed',
      });
    return unsent.outcome;
  }

  // ---------------------------------------------------------------- loop

  #jittered(ms: number): number {
    const j = this.#o.jitter ?? 0.1;
    return Math.max(0, Math.round(ms * (1 + (Math.random() * 2 - 1) * j)));
  }

  /** Starts the polling loop; errors back off exponentially (429, 5xx, network alike). */
  start(): void {
    if (this.#running) return;
    if (this.#stop.signal.aborted) this.#stop = new AbortController();
    const signal = this.#stop.signal;
    this.#running = (async () => {
      let failures = 0;
      while (!signal.aborted) {
        let wait: number;
        try {
          const outcome = await this.pollOnce();
          failures = 0;
          wait = this.#jittered(outcome.sleepMs);
        } catch (error) {
          if (signal.aborted) break;
          failures++;
          const initial = this.#o.backoff?.initialMs ?? 1000;
          const max = this.#o.backoff?.maxMs ?? 300_000;
          wait = this.#jittered(Math.min(max, initial * 2 ** Math.min(failures - 1, 20)));
          const retryAfter = (error as DdiError).details as { retryAfter?: string } | undefined;
          const seconds = Number(retryAfter?.retryAfter);
          if (Number.isFinite(seconds) && seconds > 0)
            wait = Math.max(wait, Math.min(max, seconds * 1000));
          this.#o.logger?.warn({ err: error, failures, retryInMs: wait }, 'poll failed');
        }
        await delay(wait, undefined, { signal }).catch(() => undefined);
      }
    })();
  }

  /** Stops the loop and any request in flight; closes the default dispatcher. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    this.#running = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }
}
