import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, silentLogger } from '@otaflow/core';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { type AgentState, type AgentStateStore, MemoryAgentStateStore } from './agentState.js';
import { type DownloadedArtifact, downloadArtifact } from './artifactDownload.js';
import {
  type DittoEnvelope,
  dittoTopic,
  errorResponse,
  featureMessagePath,
  messageResponse,
  parseDittoEnvelope,
  responseRequired,
  twinModify,
} from './dittoEnvelope.js';
import {
  commandResponseTopic,
  commandSubscription,
  eventTopic,
  type HonoAddress,
  parseHonoTopic,
  telemetryTopic,
} from './honoTopics.js';
import type { Installer, InstallResult } from './Installer.js';
import { IotHubError } from './IotHubError.js';
import {
  DEFAULT_FEATURE_ID,
  type DependencyDescription,
  dependencyKey,
  featurePath,
  isFailedStatus,
  isFinalStatus,
  type OperationStatus,
  type SoftwareModuleId,
  SoftwareRemoveAction,
  SoftwareUpdateAction,
  softwareUpdatableFeature,
  statusPropertyPath,
} from './softwareUpdatable.js';

export interface DeviceAgentOptions {
  /** `mqtts://mqtt.bosch-iot-hub.com:8883` or `mqtt://127.0.0.1:1883`; or give `client`. */
  url?: string;
  /** An mqtt.js client you created; the agent then neither connects nor ends it. */
  client?: MqttClient;
  /** Passed to mqtt.js (TLS `ca`, `rejectUnauthorized`, keepalive...). */
  mqttOptions?: IClientOptions;
  tenant: string;
  deviceId: string;
  /** Ditto thing id `<namespace>:<name>`; default: the device id when it has a `:`, else `otaflow:<deviceId>`. */
  thingId?: string;
  /** Hono auth id: the login becomes `<authId>@<tenant>` and the short authenticated topics are used. */
  authId?: string;
  password?: string;
  /**
   * `authenticated` (Hono: `e`, `command///req/#`) or `explicit` (`e/<tenant>/<device>`,
   * `command/<tenant>/<device>/req/#`: plain brokers, where the connection says nothing about the
   * device). Default: authenticated when `authId` is given, explicit otherwise.
   */
  topicForm?: 'authenticated' | 'explicit';
  shortTopics?: boolean;
  featureId?: string;
  softwareModuleType: string;
  /** Installed software at first start; later kept in the state store. */
  installedDependencies?: Record<string, DependencyDescription>;
  /** Group of the dependency recorded after an install (Vorto key `group.name:version`). */
  dependencyGroup?: string;
  /** Where reports go: `event` (Hono requires QoS 1, the default) or `telemetry`. */
  reportOn?: 'event' | 'telemetry';
  /**
   * QoS of reports and command responses (default 1). Hono takes telemetry and command responses
   * at QoS 0 too (its default for telemetry), events at QoS 1 only.
   */
  qos?: 0 | 1;
  installer: Installer;
  stateStore?: AgentStateStore;
  downloadDir?: string;
  fetch?: typeof fetch;
  logger?: Logger;
  /** Report download progress in steps of this many percent (default 10). */
  progressStep?: number;
}

interface Operation {
  kind: 'install' | 'download';
  request: SoftwareUpdateAction;
  abort: AbortController;
  phase: 'queued' | 'downloading' | 'installing';
  module: SoftwareModuleId;
  /** A cancel was accepted: the operation ends as FINISHED_CANCELED. */
  canceling: boolean;
  resumed: boolean;
}

type ReportFields = Pick<OperationStatus, 'progress' | 'message' | 'statusCode'>;

const ONE_WAY_ECHOES = /^(created|modified|merged|deleted|.*-response)$/;

/**
 * A SoftwareUpdatable 2.0.0 device over Hono MQTT: announces its feature, answers commands on
 * the response topic, runs install/download/cancel, and reports every step as `lastOperation`.
 */
export class DeviceAgent {
  readonly options: DeviceAgentOptions;
  readonly thingId: string;
  readonly featureId: string;
  readonly #address: HonoAddress;
  readonly #log: Logger;
  readonly #store: AgentStateStore;
  #client: MqttClient | undefined;
  #ownsClient = false;
  #state: AgentState = { installedDependencies: {} };
  #operations = new Map<string, Operation>();
  #queue: Promise<void> = Promise.resolve();
  /** Final reports of recent operations, so a re-sent command for one is not run twice. */
  readonly #finished = new Map<string, OperationStatus>();
  #stopping = false;
  #saving: Promise<void> = Promise.resolve();
  #onMessage = (topic: string, payload: Buffer) => this.#handleMessage(topic, payload);
  #onConnect = () => {
    // A new connection: whatever was in flight on the old one is sent again.
    this.#generation++;
    this.#inFlight = false;
    this.#pump();
    void this.#subscribe();
  };

  constructor(options: DeviceAgentOptions) {
    if (!options.url && !options.client)
      throw new IotHubError('INVALID_OPTIONS', 'give url or client');
    this.options = options;
    this.thingId =
      options.thingId ??
      (options.deviceId.includes(':') ? options.deviceId : `otaflow:${options.deviceId}`);
    this.featureId = options.featureId ?? DEFAULT_FEATURE_ID;
    const form = options.topicForm ?? (options.authId ? 'authenticated' : 'explicit');
    this.#address =
      form === 'authenticated'
        ? { short: options.shortTopics }
        : { tenant: options.tenant, deviceId: options.deviceId, short: options.shortTopics };
    this.#log = options.logger ?? silentLogger;
    this.#store = options.stateStore ?? new MemoryAgentStateStore();
  }

  get client(): MqttClient | undefined {
    return this.#client;
  }

  /** The operation in flight, if any (its correlationId and last reported status). */
  get current(): OperationStatus | undefined {
    return this.#state.operation?.lastOperation;
  }

  get installedDependencies(): Record<string, DependencyDescription> {
    return { ...this.#state.installedDependencies };
  }

  /** Connects, subscribes, announces the feature, and reports where an interrupted update stands. */
  async start(): Promise<void> {
    const loaded = await this.#store.load();
    this.#state = loaded ?? { installedDependencies: { ...this.options.installedDependencies } };
    if (this.options.client) {
      this.#client = this.options.client;
    } else {
      const login: IClientOptions = {};
      if (this.options.authId) login.username = `${this.options.authId}@${this.options.tenant}`;
      if (this.options.password !== undefined) login.password = this.options.password;
      this.#ownsClient = true;
      this.#client = mqtt.connect(this.options.url as string, {
        clientId: `${this.options.deviceId}-${Math.random().toString(16).slice(2, 10)}`,
        // Hono keeps no session: subscriptions are renewed on every connect (see #subscribe).
        clean: true,
        resubscribe: false,
        reconnectPeriod: 1000,
        ...login,
        ...this.options.mqttOptions,
      });
    }
    const client = this.#client;
    client.on('message', this.#onMessage);
    client.on('connect', this.#onConnect);
    client.on('error', (err) =>
      this.#log.warn({ err, deviceId: this.options.deviceId }, 'mqtt error'),
    );
    if (client.connected) await this.#subscribe();
    else {
      await new Promise<void>((resolve, reject) => {
        const fail = (error: Error) => reject(new IotHubError('NOT_CONNECTED', error.message));
        client.once('connect', () => {
          client.off('error', fail);
          resolve();
        });
        if (this.#ownsClient && this.options.mqttOptions?.reconnectPeriod === 0)
          client.once('error', fail);
      });
      await this.#subscribed;
    }
    const pending = this.#state.operation;
    if (pending) this.#resume(pending);
  }

  #subscribed: Promise<void> = Promise.resolve();

  #subscribe(): Promise<void> {
    const client = this.#client;
    if (!client) return Promise.resolve();
    this.#subscribed = (async () => {
      for (let attempt = 0; client.connected; attempt++) {
        try {
          const granted = await client.subscribeAsync(commandSubscription(this.#address), {
            qos: 1,
          });
          // Hono answers 0x80 for a temporary failure too: retry.
          if (granted.every((g) => g.qos !== 128)) break;
        } catch (err) {
          this.#log.warn({ err }, 'subscribe failed');
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
      }
      // On every connect: the cloud learns the device is back and sends what it still owes.
      if (client.connected) this.#announce();
    })();
    return this.#subscribed;
  }

  /** Ends the connection (if the agent made it); the in-flight operation stays in the state store. */
  async stop(options: { force?: boolean } = {}): Promise<void> {
    // Reports stop here, so aborting the work below leaves the saved state as it was.
    this.#stopping = true;
    for (const op of this.#operations.values()) op.abort.abort();
    await this.#saving;
    const client = this.#client;
    if (!client) return;
    client.off('message', this.#onMessage);
    client.off('connect', this.#onConnect);
    if (this.#ownsClient) await client.endAsync(options.force ?? false);
  }

  /** Waits until queued operations are done (tests, graceful shutdown). */
  async idle(): Promise<void> {
    await this.#queue;
    await this.#saving;
    while (this.#outbox.length > 0 && this.#client?.connected)
      await new Promise((r) => setTimeout(r, 10));
  }

  // ------------------------------------------------------------------ publishing

  /**
   * Reports leave through an outbox, one in flight at a time, sent only while connected and
   * dropped only on PUBACK. mqtt.js's own offline store was seen to lose QoS 1 messages published
   * during an outage (two offline publishes, one arrived), so we do not rely on it. A report whose
   * PUBACK was lost with the connection is sent again: at least once, as QoS 1 promises.
   */
  #publish(envelope: DittoEnvelope): void {
    const topic =
      this.options.reportOn === 'telemetry'
        ? telemetryTopic(this.#address)
        : eventTopic(this.#address);
    this.#outbox.push({ topic, payload: JSON.stringify(envelope) });
    this.#pump();
  }

  #outbox: { topic: string; payload: string }[] = [];
  #inFlight = false;
  #generation = 0;

  #pump(): void {
    const client = this.#client;
    const next = this.#outbox[0];
    if (this.#inFlight || !next || !client?.connected) return;
    this.#inFlight = true;
    const generation = this.#generation;
    client.publish(next.topic, next.payload, { qos: this.options.qos ?? 1 }, (error) => {
      if (!error && this.#outbox[0] === next) this.#outbox.shift();
      if (error) this.#log.warn({ err: error }, 'report not acknowledged yet');
      if (generation !== this.#generation) return;
      this.#inFlight = false;
      // A refused publish (connection closing) waits for the next connect, which pumps again:
      // pumping now would fail at once, over and over, on the same stack.
      if (!error) this.#pump();
    });
  }

  /** Reports not yet acknowledged by the broker. */
  get pendingReports(): number {
    return this.#outbox.length;
  }

  #announce(): void {
    const status: Parameters<typeof softwareUpdatableFeature>[0] = {
      softwareModuleType: this.options.softwareModuleType,
      installedDependencies: this.#state.installedDependencies,
    };
    // Rewriting the whole feature would wipe an in-flight lastOperation, so it is sent along.
    if (this.#state.operation) status.lastOperation = this.#state.operation.lastOperation;
    this.#publish(
      twinModify({
        thingId: this.thingId,
        path: featurePath(this.featureId),
        value: softwareUpdatableFeature(status),
      }),
    );
  }

  #respond(
    requestId: string,
    request: DittoEnvelope,
    status: number,
    error?: { error: string; message: string },
  ): void {
    if (!requestId || !this.#client) return;
    const body = error
      ? errorResponse(request, { status, ...error })
      : messageResponse(request, status);
    this.#client.publish(
      commandResponseTopic(this.#address, requestId, status),
      JSON.stringify(body),
      { qos: this.options.qos ?? 1 },
    );
  }

  #persist(mutate: (state: AgentState) => void): void {
    if (this.#stopping) return;
    mutate(this.#state);
    const snapshot = structuredClone(this.#state);
    this.#saving = this.#saving
      .then(() => this.#store.save(snapshot))
      .catch((err) => this.#log.error({ err }, 'state not saved'));
  }

  #report(
    correlationId: string,
    status: string,
    target: { softwareModule?: SoftwareModuleId; software?: DependencyDescription[] },
    fields: ReportFields = {},
    phase?: 'downloading' | 'installing',
  ): void {
    if (this.#stopping) return;
    const value: OperationStatus = { correlationId, status, ...target };
    if (fields.progress !== undefined)
      value.progress = Math.max(0, Math.min(100, Math.round(fields.progress)));
    if (fields.message !== undefined) value.message = fields.message;
    if (fields.statusCode !== undefined) value.statusCode = fields.statusCode;
    if (isFailedStatus(status)) {
      this.#publish(
        twinModify({
          thingId: this.thingId,
          path: statusPropertyPath(this.featureId, 'lastFailedOperation'),
          value,
        }),
      );
    }
    this.#publish(
      twinModify({
        thingId: this.thingId,
        path: statusPropertyPath(this.featureId, 'lastOperation'),
        value,
      }),
    );
    if (isFinalStatus(status)) {
      this.#finished.delete(correlationId);
      this.#finished.set(correlationId, value);
      if (this.#finished.size > 32)
        this.#finished.delete(this.#finished.keys().next().value as string);
    }
    const op = this.#operations.get(correlationId);
    this.#persist((state) => {
      if (isFinalStatus(status)) {
        if (state.operation?.request.correlationId === correlationId) delete state.operation;
      } else if (op) {
        state.operation = {
          kind: op.kind,
          request: op.request,
          phase: phase ?? state.operation?.phase ?? 'downloading',
          lastOperation: value,
        };
      }
    });
  }

  // ------------------------------------------------------------------ commands

  #handleMessage(topic: string, payload: Buffer): void {
    const parsed = parseHonoTopic(topic);
    if (parsed?.kind !== 'command') return;
    const { requestId, command } = parsed;
    // A fallback request, so even an unreadable command gets a well-formed Ditto error back.
    let request: DittoEnvelope = {
      topic: dittoTopic(this.thingId, 'live', 'messages', command),
      headers: {},
      path: featureMessagePath(this.featureId, 'inbox', command),
    };
    try {
      request = parseDittoEnvelope(payload);
    } catch (error) {
      if (!requestId) return;
      this.#log.warn({ err: error, command }, 'malformed command');
      this.#respond(requestId, request, 400, {
        error: 'messages:payload.invalid',
        message: (error as Error).message,
      });
      return;
    }
    if (!requestId && ONE_WAY_ECHOES.test(command)) return;
    const answer = requestId && responseRequired(request) ? requestId : '';
    const inbox = featureMessagePath(this.featureId, 'inbox', command);
    if (request.path !== inbox) {
      this.#respond(answer, request, 404, {
        error: 'messages:feature.notfound',
        message: `no feature handles ${request.path}`,
      });
      return;
    }
    switch (command) {
      case 'install':
      case 'download':
      case 'cancel': {
        const value = SoftwareUpdateAction.safeParse(request.value);
        if (!value.success) {
          this.#log.warn({ command, issues: value.error.issues.length }, 'invalid parameters');
          this.#respond(answer, request, 400, {
            error: 'messages:parameter.invalid',
            message: value.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
          });
          return;
        }
        this.#respond(answer, request, 204);
        if (command === 'cancel') void this.#cancel(value.data);
        else this.#enqueue(command, value.data, false);
        return;
      }
      case 'remove':
      case 'cancelRemove': {
        const value = SoftwareRemoveAction.safeParse(request.value);
        if (!value.success) {
          this.#respond(answer, request, 400, {
            error: 'messages:parameter.invalid',
            message: value.error.message,
          });
          return;
        }
        this.#respond(answer, request, 204);
        this.#report(
          value.data.correlationId,
          'FINISHED_REJECTED',
          { software: value.data.software },
          { message: `${command} is not supported by this agent` },
        );
        return;
      }
      default:
        this.#respond(answer, request, 400, {
          error: 'messages:subject.unsupported',
          message: `unsupported message subject ${command}`,
        });
    }
  }

  #enqueue(kind: 'install' | 'download', request: SoftwareUpdateAction, resumed: boolean): void {
    const id = request.correlationId;
    // A re-sent command for the operation already in hand is acknowledged and ignored; for one
    // that ended, the final report is sent again instead of running it twice.
    if (this.#operations.has(id)) return;
    const finished = this.#finished.get(id);
    if (finished && !resumed) {
      this.#publish(
        twinModify({
          thingId: this.thingId,
          path: statusPropertyPath(this.featureId, 'lastOperation'),
          value: finished,
        }),
      );
      return;
    }
    const first = request.softwareModules[0] as SoftwareUpdateAction['softwareModules'][number];
    const op: Operation = {
      kind,
      request,
      abort: new AbortController(),
      phase: 'queued',
      module: first.softwareModule,
      canceling: false,
      resumed,
    };
    this.#operations.set(id, op);
    this.#queue = this.#queue.then(() => this.#run(op)).finally(() => this.#operations.delete(id));
  }

  async #cancel(request: SoftwareUpdateAction): Promise<void> {
    const id = request.correlationId;
    const op = this.#operations.get(id);
    const module = request.softwareModules[0]?.softwareModule as SoftwareModuleId;
    if (!op) {
      // Nothing runs under this id (never started, or lost): the cancel is confirmed at once.
      this.#report(
        id,
        'FINISHED_CANCELED',
        { softwareModule: module },
        { message: 'canceled before it started' },
      );
      return;
    }
    if (op.canceling) return;
    if (op.phase === 'installing') {
      const accepted =
        (await this.options.installer.cancel?.({ correlationId: id, module: op.module })) ?? false;
      if (!accepted || op.phase !== 'installing') {
        this.#report(
          id,
          'CANCEL_REJECTED',
          { softwareModule: op.module },
          { message: 'installation cannot be canceled any more' },
          'installing',
        );
        return;
      }
    }
    op.canceling = true;
    this.#report(id, 'CANCELING', { softwareModule: op.module });
    op.abort.abort();
  }

  #resume(pending: NonNullable<AgentState['operation']>): void {
    // First say where it stands, as it was last reported before the restart.
    this.#publish(
      twinModify({
        thingId: this.thingId,
        path: statusPropertyPath(this.featureId, 'lastOperation'),
        value: pending.lastOperation,
      }),
    );
    if (pending.phase === 'downloading') {
      this.#enqueue(pending.kind, pending.request, true);
      return;
    }
    const id = pending.request.correlationId;
    const first = pending.request
      .softwareModules[0] as SoftwareUpdateAction['softwareModules'][number];
    const module = pending.lastOperation.softwareModule ?? first.softwareModule;
    const op: Operation = {
      kind: pending.kind,
      request: pending.request,
      abort: new AbortController(),
      phase: 'installing',
      module,
      canceling: false,
      resumed: true,
    };
    this.#operations.set(id, op);
    this.#queue = this.#queue
      .then(async () => {
        const resume = this.options.installer.resume;
        if (!resume) {
          this.#report(
            id,
            'FINISHED_ERROR',
            { softwareModule: module },
            { message: 'installation interrupted by a restart' },
          );
          return;
        }
        try {
          const metadata =
            pending.request.softwareModules.find((m) => m.softwareModule.name === module.name)
              ?.metadata ?? {};
          const result = await resume.call(this.options.installer, {
            correlationId: id,
            module,
            metadata,
            forced: pending.request.forced ?? false,
          });
          this.#finishInstalled(op, [module], result ? [result] : []);
        } catch (error) {
          this.#reportFailure(op, error);
        }
      })
      .finally(() => this.#operations.delete(id));
  }

  async #run(op: Operation): Promise<void> {
    const id = op.request.correlationId;
    const step = this.options.progressStep ?? 10;
    const results: InstallResult[] = [];
    try {
      if (op.abort.signal.aborted) throw new IotHubError('CANCELED', 'canceled before it started');
      op.phase = 'downloading';
      if (!op.resumed)
        this.#report(id, 'STARTED', { softwareModule: op.module }, {}, 'downloading');
      const downloaded: DownloadedArtifact[][] = [];
      for (const entry of op.request.softwareModules) {
        op.module = entry.softwareModule;
        const files: DownloadedArtifact[] = [];
        const total = (entry.artifacts ?? []).reduce((sum, a) => sum + a.size, 0);
        let done = 0;
        let lastReported = -1;
        const progress = (percent: number) => {
          const bucket = Math.floor(percent / step) * step;
          if (bucket <= lastReported || op.canceling) return;
          lastReported = bucket;
          this.#report(
            id,
            'DOWNLOADING',
            { softwareModule: entry.softwareModule },
            { progress: bucket },
            'downloading',
          );
        };
        progress(0);
        for (const artifact of entry.artifacts ?? []) {
          const dir =
            this.options.downloadDir ?? join(tmpdir(), 'otaflow-agent', this.options.deviceId);
          const file = await downloadArtifact(artifact, {
            directory: join(dir, id.replace(/[^\w.-]/g, '_')),
            signal: op.abort.signal,
            fetch: this.options.fetch,
            onProgress: (received) =>
              progress(total === 0 ? 100 : ((done + received) / total) * 100),
          });
          done += file.size;
          files.push(file);
        }
        if (op.abort.signal.aborted) throw new IotHubError('CANCELED', 'canceled');
        this.#report(
          id,
          'DOWNLOADED',
          { softwareModule: entry.softwareModule },
          { progress: 100 },
          'downloading',
        );
        downloaded.push(files);
      }
      if (op.kind === 'download') {
        this.#report(
          id,
          'FINISHED_SUCCESS',
          { softwareModule: op.module },
          { message: 'downloaded' },
        );
        return;
      }
      for (const [index, entry] of op.request.softwareModules.entries()) {
        if (op.abort.signal.aborted) throw new IotHubError('CANCELED', 'canceled');
        op.module = entry.softwareModule;
        op.phase = 'installing';
        this.#report(
          id,
          'INSTALLING',
          { softwareModule: entry.softwareModule },
          { progress: 0 },
          'installing',
        );
        const result = await this.options.installer.install({
          correlationId: id,
          module: entry.softwareModule,
          metadata: entry.metadata ?? {},
          files: downloaded[index] ?? [],
          forced: op.request.forced ?? false,
          signal: op.abort.signal,
          progress: (percent, message) => {
            if (!op.canceling)
              this.#report(
                id,
                'INSTALLING',
                { softwareModule: entry.softwareModule },
                message === undefined ? { progress: percent } : { progress: percent, message },
                'installing',
              );
          },
        });
        if (op.abort.signal.aborted) throw new IotHubError('CANCELED', 'canceled');
        if (result) results.push(result);
        this.#report(
          id,
          'INSTALLED',
          { softwareModule: entry.softwareModule },
          { progress: 100 },
          'installing',
        );
      }
      this.#finishInstalled(
        op,
        op.request.softwareModules.map((m) => m.softwareModule),
        results,
      );
    } catch (error) {
      this.#reportFailure(op, error);
    }
  }

  #finishInstalled(op: Operation, modules: SoftwareModuleId[], results: InstallResult[]): void {
    const group = this.options.dependencyGroup ?? this.options.softwareModuleType;
    const installed = { ...this.#state.installedDependencies };
    for (const module of modules) {
      for (const [key, dep] of Object.entries(installed))
        if (dep.name === module.name) delete installed[key];
      const dep: DependencyDescription = {
        group,
        name: module.name,
        version: module.version,
        type: this.options.softwareModuleType,
      };
      installed[dependencyKey(dep)] = dep;
    }
    this.#persist((state) => {
      state.installedDependencies = installed;
    });
    this.#publish(
      twinModify({
        thingId: this.thingId,
        path: statusPropertyPath(this.featureId, 'installedDependencies'),
        value: installed,
      }),
    );
    const warning = results.find((r) => r.status === 'FINISHED_WARNING');
    const last = warning ?? results[results.length - 1];
    const fields: ReportFields = {};
    if (last?.message !== undefined) fields.message = last.message;
    if (last?.statusCode !== undefined) fields.statusCode = last.statusCode;
    this.#report(
      op.request.correlationId,
      warning ? 'FINISHED_WARNING' : 'FINISHED_SUCCESS',
      { softwareModule: op.module },
      fields,
    );
  }

  #reportFailure(op: Operation, error: unknown): void {
    const id = op.request.correlationId;
    if (op.canceling || (error instanceof IotHubError && error.code === 'CANCELED')) {
      this.#report(
        id,
        'FINISHED_CANCELED',
        { softwareModule: op.module },
        { message: 'canceled by operator' },
      );
      return;
    }
    const fields: ReportFields = { message: (error as Error)?.message ?? String(error) };
    const code = (error as { statusCode?: unknown })?.statusCode;
    if (typeof code === 'number') fields.statusCode = code;
    if (
      error instanceof IotHubError &&
      (error.code === 'DOWNLOAD_FAILED' || error.code === 'HASH_MISMATCH')
    ) {
      fields.message = `fail to download module: ${error.message}`;
    }
    this.#log.warn({ err: error, correlationId: id }, 'operation failed');
    this.#report(id, 'FINISHED_ERROR', { softwareModule: op.module }, fields);
  }
}

export function createDeviceAgent(options: DeviceAgentOptions): DeviceAgent {
  return new DeviceAgent(options);
}
