import {
  type ActionDomainEvent,
  type DistributionSet,
  type DomainEvent,
  type Logger,
  type OutboxSink,
  type SoftwareModule,
  silentLogger,
  type TargetView,
  type UpdateService,
} from '@otaflow/core';
import { HuaweiError } from './HuaweiError.js';
import { httpRequest, type TlsClientOptions } from './httpRequest.js';
import { LOGIN_PATH, SUBSCRIBE_PATH } from './northboundPaths.js';
import { HUAWEI_NOTIFY_TYPES, type HuaweiNotifyType } from './notifications.js';
import {
  HUAWEI_OPERATION_REF,
  HUAWEI_SUB_OPERATION_REF,
  operationRef,
  subOperationRef,
} from './refs.js';
import {
  CreateUpgradeTaskResponse,
  LoginResponse,
  type OperatePolicy,
  PlatformErrorBody,
  SubOperationPage,
  UPGRADE_API_BASE,
  type UpgradeType,
} from './upgradeTasks.js';

/** What the dispatcher knows about an action when it picks the device, package and task type. */
export interface DispatchContext {
  actionId: number;
  target: TargetView;
  distributionSet: DistributionSet;
  modules: SoftwareModule[];
}

export interface HuaweiUpgradeDispatcherOptions {
  /** The platform's northbound base URL, e.g. `https://iot.example:8743` or the stand-in's `url`. */
  platformUrl: string;
  appId: string;
  /** Used to log in (`/iocm/app/sec/v1.1.0/login`), and again when the token is refused. */
  secret?: string;
  /** A token obtained elsewhere; without `secret` it is used until refused. */
  accessToken?: string;
  /** The receiver's URL to subscribe (`createHuaweiReceiverServer(...).url` or the public one). */
  callbackUrl: string;
  /** Default: all four upgrade notification types. */
  notifyTypes?: readonly HuaweiNotifyType[];
  /** CA to trust and client certificate for the platform's HTTPS. */
  tls?: TlsClientOptions;
  /** Per request; default 15 s. */
  timeoutMs?: number;
  /** The platform device id of a target; default attribute `huawei.deviceId`, else the controller id. */
  deviceIdOf?: (target: TargetView) => string;
  /** Default: metadata `huawei.fileId` of the first module that has it, else the set's version. */
  fileIdOf?: (context: DispatchContext) => string;
  /** Default: `firmware` when a module's type is `firmware` (or the set's type is), else `software`. */
  upgradeTypeOf?: (context: DispatchContext) => UpgradeType;
  /** Default `{ executeType: 'now' }`. */
  policy?: OperatePolicy;
  /** Close the action as ERROR when its task cannot be created; default true. */
  failActionOnError?: boolean;
  /** Attempts for a platform that is unreachable or answers 5xx; default 3. */
  attempts?: number;
  logger?: Logger;
}

export interface DispatchResult {
  actionId: number;
  deviceId: string;
  operationId: string;
  subOperationId: string | undefined;
}

/** Statuses in which the device should be working on the update. */
const DISPATCHABLE = new Set(['RUNNING']);

/**
 * The real-side client: subscribes the receiver for the upgrade notifications and, for each new
 * running action of a target on the `huawei` channel, creates an upgrade task on the platform and
 * records the ids the receiver matches pushes by.
 */
export class HuaweiUpgradeDispatcher {
  readonly #options: HuaweiUpgradeDispatcherOptions;
  readonly #log: Logger;
  #token: string | undefined;
  #service: UpdateService | undefined;
  #detach: (() => void) | undefined;
  /** Actions handled by this process, so status updates do not re-read every action. */
  readonly #seen = new Set<number>();
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(options: HuaweiUpgradeDispatcherOptions) {
    this.#options = options;
    this.#log = options.logger ?? silentLogger;
    this.#token = options.accessToken;
  }

  /**
   * Listens to the service's domain events, then subscribes the callback URL. With `outbox`, no
   * event is heard in process: tasks come from an outbox relay through `outboxSink()`.
   */
  async attach(service: UpdateService, options: { outbox?: boolean } = {}): Promise<void> {
    if (this.#detach)
      throw new HuaweiError('DISPATCH_FAILED', 'the dispatcher is already attached');
    this.#service = service;
    this.#detach = options.outbox ? () => {} : service.onEvent((event) => this.#onEvent(event));
    try {
      await this.subscribe();
    } catch (error) {
      this.#detach();
      this.#detach = undefined;
      throw error;
    }
  }

  /** Stops listening and waits for the task creations under way. */
  async stop(): Promise<void> {
    this.#detach?.();
    this.#detach = undefined;
    await this.idle();
  }

  /** Resolves when no task creation is under way. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** One subscribe call per notify type, as the API takes one type per call. */
  async subscribe(): Promise<void> {
    for (const notifyType of this.#options.notifyTypes ?? HUAWEI_NOTIFY_TYPES) {
      await this.#call('POST', SUBSCRIBE_PATH, {
        notifyType,
        callbackUrl: this.#options.callbackUrl,
      });
    }
  }

  #onEvent(event: DomainEvent): void {
    if (event.type !== 'ACTION_CREATED' && event.type !== 'ACTION_UPDATED') return;
    const action = event as ActionDomainEvent;
    if (
      !action.actionActive ||
      !DISPATCHABLE.has(action.actionStatus) ||
      this.#seen.has(action.actionId)
    )
      return;
    this.#seen.add(action.actionId);
    const work = this.dispatch(action.actionId).catch((error) =>
      this.#failed(action.actionId, error),
    );
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  /**
   * An `OutboxRelay` sink: creates the upgrade task of each running action of a Huawei target, in
   * order, and resolves once the platform has accepted them (an action that has its task already
   * is skipped, so a resend creates none twice once its refs are stored). A platform that is
   * unreachable or answers 5xx rejects the batch, so the relay retries; any other refusal closes
   * the action as without an outbox (`failActionOnError`) and the batch goes on.
   */
  outboxSink(): OutboxSink {
    return async (entries) => {
      for (const { event } of entries) {
        if (event.type !== 'ACTION_CREATED' && event.type !== 'ACTION_UPDATED') continue;
        if (!event.actionActive || !DISPATCHABLE.has(event.actionStatus)) continue;
        try {
          await this.dispatch(event.actionId);
        } catch (error) {
          if (isRetriable(error)) throw error;
          await this.#failed(event.actionId, error);
        }
      }
    };
  }

  async #failed(actionId: number, error: unknown): Promise<void> {
    this.#log.error({ err: error, actionId }, 'huawei upgrade task not created');
    const service = this.#service;
    if (!service || this.#options.failActionOnError === false) return;
    const message = error instanceof Error ? error.message : String(error);
    await service.apply(actionId, {
      type: 'action.finished',
      result: 'failure',
      at: service.now(),
      messages: [`Huawei upgrade task could not be created: ${message}`],
    });
  }

  /**
   * Creates the upgrade task of one action and stores its refs. Returns undefined for an action
   * that is not for a Huawei target or already has a task.
   */
  async dispatch(actionId: number): Promise<DispatchResult | undefined> {
    const service = this.#service;
    if (!service) throw new HuaweiError('NOT_STARTED', 'attach the dispatcher to a service first');
    const action = (await service.getAction(actionId)) as
      | (Awaited<ReturnType<UpdateService['getAction']>> & { refs?: Record<string, string> })
      | undefined;
    if (!action) throw new HuaweiError('DISPATCH_FAILED', `action ${actionId} not found`);
    if (action.refs?.[HUAWEI_OPERATION_REF]) return undefined;
    const target = await service.getTarget(action.controllerId);
    if (target?.channel !== 'huawei') return undefined;
    const distributionSet = await service.requireDistributionSet(action.distributionSetId);
    const context: DispatchContext = {
      actionId,
      target,
      distributionSet,
      modules: await service.modulesOf(distributionSet),
    };
    const deviceId = (this.#options.deviceIdOf ?? defaultDeviceId)(target);
    const type = (this.#options.upgradeTypeOf ?? defaultUpgradeType)(context);
    const fileId = (this.#options.fileIdOf ?? defaultFileId)(context);
    const created = CreateUpgradeTaskResponse.safeParse(
      await this.#call('POST', `${UPGRADE_API_BASE}/operations/${type}Upgrade`, {
        fileId,
        targets: { devices: [deviceId] },
        policy: this.#options.policy ?? { executeType: 'now' },
      }),
    );
    if (!created.success)
      throw new HuaweiError('PLATFORM_ERROR', 'the platform answered without an operationId');
    const { operationId } = created.data;
    await service.setActionRef(actionId, HUAWEI_OPERATION_REF, operationRef(deviceId, operationId));
    const subOperationId = await this.#findSubOperation(operationId, deviceId);
    if (subOperationId) {
      await service.setActionRef(
        actionId,
        HUAWEI_SUB_OPERATION_REF,
        subOperationRef(deviceId, operationId, subOperationId),
      );
    } else {
      this.#log.warn(
        { actionId, operationId },
        'no sub-operation for the device yet; matching by operation id',
      );
    }
    this.#log.info(
      { actionId, deviceId, operationId, subOperationId, type, fileId },
      'huawei upgrade task created',
    );
    return { actionId, deviceId, operationId, subOperationId };
  }

  async #findSubOperation(operationId: string, deviceId: string): Promise<string | undefined> {
    for (let pageNo = 0; pageNo < 100; pageNo++) {
      const path = `${UPGRADE_API_BASE}/operations/${encodeURIComponent(operationId)}/subOperations?pageNo=${pageNo}&pageSize=100`;
      const parsed = SubOperationPage.safeParse(await this.#call('GET', path));
      if (!parsed.success) return undefined;
      const found = parsed.data.data.find((sub) => sub.deviceId === deviceId);
      if (found) return found.subOperationId;
      if ((pageNo + 1) * 100 >= parsed.data.totalCount) return undefined;
    }
    return undefined;
  }

  async #login(): Promise<string> {
    const { appId, secret } = this.#options;
    if (secret === undefined)
      throw new HuaweiError(
        'PLATFORM_ERROR',
        'the access token was refused and no secret is configured',
      );
    const response = await this.#send(
      'POST',
      LOGIN_PATH,
      new URLSearchParams({ appId, secret }).toString(),
      {
        'content-type': 'application/x-www-form-urlencoded',
      },
    );
    const parsed = LoginResponse.safeParse(parseBody(response.body));
    if (response.status !== 200 || !parsed.success)
      throw platformError('login', response.status, response.body);
    this.#token = parsed.data.accessToken;
    return this.#token;
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    const attempts = Math.max(1, this.#options.attempts ?? 3);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#authorized(method, path, body);
      } catch (error) {
        if (!isRetriable(error) || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  async #authorized(method: string, path: string, body?: unknown): Promise<unknown> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers = (token: string) => ({
      app_key: this.#options.appId,
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    });
    let token = this.#token ?? (await this.#login());
    let response = await this.#send(method, path, text, headers(token));
    if (response.status === 401 && this.#options.secret !== undefined) {
      token = await this.#login();
      response = await this.#send(method, path, text, headers(token));
    }
    if (response.status < 200 || response.status >= 300)
      throw platformError(`${method} ${path}`, response.status, response.body);
    return response.body.length > 0 ? parseBody(response.body) : undefined;
  }

  async #send(
    method: string,
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
  ) {
    try {
      return await httpRequest(new URL(path, this.#options.platformUrl), {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        timeoutMs: this.#options.timeoutMs ?? 15_000,
        tls: this.#options.tls,
      });
    } catch (error) {
      throw new HuaweiError(
        'PLATFORM_UNREACHABLE',
        `${method} ${path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function platformError(what: string, status: number, text: string): HuaweiError {
  const body = PlatformErrorBody.safeParse(parseBody(text));
  const code = body.success ? body.data.error_code : undefined;
  const desc = body.success && body.data.error_desc ? `: ${body.data.error_desc}` : '';
  return new HuaweiError(
    'PLATFORM_ERROR',
    `${what} answered ${status}${code ? ` (${code})` : ''}${desc}`,
    {
      status,
      ...(code ? { platformCode: code } : {}),
    },
  );
}

function defaultDeviceId(target: TargetView): string {
  return target.attributes['huawei.deviceId'] ?? target.controllerId;
}

function defaultUpgradeType(context: DispatchContext): UpgradeType {
  const firmware =
    context.distributionSet.type === 'firmware' ||
    context.modules.some((m) => m.type === 'firmware');
  return firmware ? 'firmware' : 'software';
}

function defaultFileId(context: DispatchContext): string {
  for (const module of context.modules) {
    const entry = module.metadata.find((m) => m.key === 'huawei.fileId');
    if (entry) return entry.value;
  }
  return context.distributionSet.version;
}

/** The platform may take it later: unreachable, or a 5xx. */
function isRetriable(error: unknown): boolean {
  return (
    error instanceof HuaweiError &&
    (error.code === 'PLATFORM_UNREACHABLE' ||
      (error.details?.status !== undefined && error.details.status >= 500))
  );
}
