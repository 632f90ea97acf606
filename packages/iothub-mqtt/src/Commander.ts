import { randomUUID } from 'node:crypto';
import {
  type Artifact,
  type DomainEvent,
  mapSoftwareUpdatableStatus,
  type SoftwareModule,
  type Suv2MappingOptions,
  type UpdateService,
} from '@otaflow/core';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  type DittoEnvelope,
  liveMessage,
  parseDittoEnvelope,
  parseDittoTopic,
  thingIdOfTopic,
} from './dittoEnvelope.js';
import { commandRequestTopic, type HonoAddress, parseHonoTopic } from './honoTopics.js';
import { IotHubError } from './IotHubError.js';
import { type Logger, silentLogger } from './logger.js';
import {
  DEFAULT_FEATURE_ID,
  type DownloadProtocol,
  numericStatusCode,
  type OperationStatus,
  type SoftwareModuleAction,
  SoftwareUpdatableFeature,
  type SoftwareUpdateAction,
  safeParseOperationStatus,
} from './softwareUpdatable.js';

/** The action ref under which the SUv2 `correlationId` of an action is stored in core. */
export const CORRELATION_REF = 'suv2.correlationId';
/** Target attributes the commander records from a feature announcement. */
export const FEATURE_ID_ATTRIBUTE = 'suv2.featureId';
export const MODULE_TYPE_ATTRIBUTE = 'suv2.softwareModuleType';

export interface CommanderOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`; or give `client`. */
  url?: string;
  client?: MqttClient;
  mqttOptions?: IClientOptions;
  service: UpdateService;
  tenant: string;
  /** Where devices download an artifact from; the backend decides (artifact server, CDN...). */
  artifactUrl: (module: SoftwareModule, artifact: Artifact) => string;
  /** How long to wait for a device's command response (default 10 s). */
  responseTimeoutMs?: number;
  /** Passed to core's mapping: what FINISHED_WARNING does to an action. */
  finishedWarningAs?: Suv2MappingOptions['finishedWarningAs'];
  /** Ditto thing id of a device; default: the device id when it has a `:`, else `otaflow:<id>`. */
  thingIdOf?: (deviceId: string) => string;
  /** Feature id used when a device announced none (default `SoftwareUpdatable`). */
  featureId?: string;
  shortTopics?: boolean;
  /** MQTT client id; with `clean: false` (the default here) the broker keeps reports while we are away. */
  clientId?: string;
  logger?: Logger;
}

export interface CommandResult {
  requestId: string;
  correlationId: string;
  status: number;
  response?: DittoEnvelope | undefined;
}

export type ReportResult = 'applied' | 'refused' | 'ignored' | 'dropped' | 'registered';

/** What became of one message a device published. */
export interface ReportOutcome {
  deviceId: string;
  result: ReportResult;
  reason?: string | undefined;
  correlationId?: string | undefined;
  status?: string | undefined;
  actionId?: number | undefined;
}

interface Pending {
  resolve: (result: { status: number; response?: DittoEnvelope }) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const LAST_OPERATION = /^\/features\/([^/]+)\/properties\/status\/lastOperation$/;
const FEATURE = /^\/features\/([^/]+)$/;
const PROTOCOL: Record<string, DownloadProtocol> = {
  'https:': 'HTTPS',
  'http:': 'HTTP',
  'ftp:': 'FTP',
  'sftp:': 'SFTP',
};

/** What a commander subscribes to (QoS 1): reports in both topic forms, and command responses. */
export function commanderFilters(tenant: string): string[] {
  return [
    `e/${tenant}/+/#`,
    `event/${tenant}/+/#`,
    `t/${tenant}/+/#`,
    `telemetry/${tenant}/+/#`,
    `command/${tenant}/+/res/#`,
    `c/${tenant}/+/s/#`,
  ];
}

export function defaultThingIdOf(deviceId: string): string {
  return deviceId.includes(':') ? deviceId : `otaflow:${deviceId}`;
}

/**
 * The cloud side (a stand-in for IoT Hub + Device Management): sends SUv2 commands in the explicit
 * Hono topic form, and drives core with the devices' `lastOperation` reports.
 */
export class Commander {
  readonly options: CommanderOptions;
  readonly #service: UpdateService;
  readonly #log: Logger;
  /**
   * Reports of a device that wait while an earlier one of it is worked on; no entry means the
   * device is idle. Does what core's KeyedLock does (one device at a time, arrival order, devices
   * in parallel) without two promises and two closures per report, which the profile showed.
   */
  readonly #waiting = new Map<string, Buffer[]>();
  /** Devices whose first report arrived since the last flush; see #handleMessage. */
  #ready: { deviceId: string; payload: Buffer }[] = [];
  #flush = () => {
    const ready = this.#ready;
    this.#ready = [];
    for (const { deviceId, payload } of ready) void this.#drain(deviceId, payload);
  };
  readonly #pending = new Map<string, Pending>();
  readonly #listeners = new Set<(outcome: ReportOutcome) => void>();
  readonly #thingIdOf: (deviceId: string) => string;
  /** Built once: every report passes it to core's mapping. */
  readonly #mappingOptions: Suv2MappingOptions;
  /** No log arguments are built per report when nobody listens. */
  readonly #logs: boolean;
  #client: MqttClient | undefined;
  #ownsClient = false;
  #unsubscribe: (() => void) | undefined;
  #onMessage = (topic: string, payload: Buffer) => this.#handleMessage(topic, payload);
  #onConnect = () => void this.#subscribe();
  /** Counters by outcome, for logs and the benchmark. */
  readonly stats: Record<ReportResult, number> = {
    applied: 0,
    refused: 0,
    ignored: 0,
    dropped: 0,
    registered: 0,
  };

  constructor(options: CommanderOptions) {
    if (!options.url && !options.client)
      throw new IotHubError('INVALID_OPTIONS', 'give url or client');
    this.options = options;
    this.#service = options.service;
    this.#log = options.logger ?? silentLogger;
    this.#thingIdOf = options.thingIdOf ?? defaultThingIdOf;
    this.#mappingOptions = options.finishedWarningAs
      ? { finishedWarningAs: options.finishedWarningAs }
      : {};
    this.#logs = this.#log !== silentLogger;
  }

  get client(): MqttClient | undefined {
    return this.#client;
  }

  #address(deviceId: string): HonoAddress {
    return { tenant: this.options.tenant, deviceId, short: this.options.shortTopics };
  }

  /** Sees every report's outcome; returns the unsubscribe function. */
  onReport(listener: (outcome: ReportOutcome) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async start(): Promise<void> {
    if (this.options.client) {
      this.#client = this.options.client;
    } else {
      this.#ownsClient = true;
      this.#client = mqtt.connect(this.options.url as string, {
        clientId:
          this.options.clientId ??
          `otaflow-commander-${this.options.tenant}-${randomUUID().slice(0, 8)}`,
        clean: false,
        resubscribe: false,
        reconnectPeriod: 1000,
        ...this.options.mqttOptions,
      });
    }
    const client = this.#client;
    client.on('message', this.#onMessage);
    client.on('connect', this.#onConnect);
    client.on('error', (error) => this.#log.warn('mqtt error', { error: error.message }));
    if (client.connected) await this.#subscribe();
    else await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await this.#subscribed;
    this.#unsubscribe = this.#service.onEvent((event) => this.#onDomainEvent(event));
  }

  #subscribed: Promise<void> = Promise.resolve();

  #subscribe(): Promise<void> {
    const client = this.#client;
    if (!client) return Promise.resolve();
    this.#subscribed = client
      .subscribeAsync(commanderFilters(this.options.tenant), { qos: 1 })
      .then(() => undefined)
      .catch((error) => this.#log.warn('subscribe failed', { error: (error as Error).message }));
    return this.#subscribed;
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new IotHubError('NOT_CONNECTED', 'commander stopped'));
      this.#pending.delete(id);
    }
    const client = this.#client;
    if (!client) return;
    client.off('message', this.#onMessage);
    client.off('connect', this.#onConnect);
    if (this.#ownsClient) await client.endAsync();
  }

  // ------------------------------------------------------------------ commands

  #onDomainEvent(event: DomainEvent): Promise<void> | undefined {
    if (event.type !== 'ACTION_CREATED' && event.type !== 'ACTION_UPDATED') return undefined;
    const wantsInstall = event.actionStatus === 'RUNNING' && event.actionActive;
    const wantsCancel = event.type === 'ACTION_UPDATED' && event.actionStatus === 'CANCELING';
    if (!wantsInstall && !wantsCancel) return undefined;
    return (async () => {
      const target = await this.#service.getTarget(event.controllerId);
      if (target?.channel !== 'mqtt') return;
      const record = await this.#service.store.getAction(event.actionId);
      const sent = record?.refs?.[CORRELATION_REF] !== undefined;
      try {
        // RUNNING without a correlationId: created running, or started/confirmed later.
        if (wantsInstall && !sent) await this.sendInstall(event.actionId);
        else if (wantsCancel && sent) await this.sendCancel(event.actionId);
        else if (wantsCancel)
          this.#log.warn('cancel of an action never sent to the device', {
            actionId: event.actionId,
          });
      } catch (error) {
        this.#log.warn('command failed', {
          actionId: event.actionId,
          error: (error as Error).message,
        });
      }
    })();
  }

  async #actionOrThrow(actionId: number) {
    const record = await this.#service.store.getAction(actionId);
    if (!record) throw new IotHubError('ACTION_NOT_FOUND', `action ${actionId} not found`);
    return record;
  }

  async #featureOf(deviceId: string): Promise<string> {
    const target = await this.#service.getTarget(deviceId);
    return target?.attributes[FEATURE_ID_ATTRIBUTE] ?? this.options.featureId ?? DEFAULT_FEATURE_ID;
  }

  /**
   * Sends install (or download for a download-only action) with every module of the action's
   * distribution set in one command, under one correlationId stored on the action.
   */
  async sendInstall(actionId: number): Promise<CommandResult> {
    const record = await this.#actionOrThrow(actionId);
    const view = await this.#service.getAction(actionId);
    if (!view) throw new IotHubError('ACTION_NOT_FOUND', `action ${actionId} not found`);
    const set = await this.#service.requireDistributionSet(view.distributionSetId);
    const modules = await this.#service.modulesOf(set);
    const correlationId = record.refs?.[CORRELATION_REF] ?? `otaflow-${actionId}-${randomUUID()}`;
    if (!record.refs?.[CORRELATION_REF])
      await this.#service.setActionRef(actionId, CORRELATION_REF, correlationId);
    const value: SoftwareUpdateAction = {
      correlationId,
      forced: view.type === 'forced',
      weight: view.weight,
      softwareModules: modules.map((m) => this.#moduleAction(m)),
    };
    const subject = view.type === 'downloadonly' ? 'download' : 'install';
    return this.#send(view.controllerId, subject, value, correlationId);
  }

  /** Sends cancel for an action whose install was sent (same correlationId, no artifacts). */
  async sendCancel(actionId: number): Promise<CommandResult> {
    const record = await this.#actionOrThrow(actionId);
    const correlationId = record.refs?.[CORRELATION_REF];
    if (!correlationId)
      throw new IotHubError('NO_CORRELATION_ID', `action ${actionId} was never sent to its device`);
    const view = await this.#service.getAction(actionId);
    const set = await this.#service.requireDistributionSet(view?.distributionSetId ?? 0);
    const modules = await this.#service.modulesOf(set);
    const value: SoftwareUpdateAction = {
      correlationId,
      softwareModules: modules.map((m) => ({
        softwareModule: { name: m.name, version: m.version },
      })),
    };
    return this.#send(record.controllerId, 'cancel', value, correlationId);
  }

  #moduleAction(module: SoftwareModule): SoftwareModuleAction {
    const action: SoftwareModuleAction = {
      softwareModule: { name: module.name, version: module.version },
      artifacts: module.artifacts.map((a) => {
        const url = this.options.artifactUrl(module, a);
        const protocol = PROTOCOL[new URL(url).protocol];
        if (!protocol)
          throw new IotHubError('INVALID_OPTIONS', `artifactUrl gave an unsupported URL: ${url}`);
        return {
          filename: a.filename,
          size: a.size,
          checksums: { SHA1: a.hashes.sha1, MD5: a.hashes.md5, SHA256: a.hashes.sha256 },
          download: { [protocol]: { url } },
        };
      }),
    };
    if (module.metadata.length > 0)
      action.metadata = Object.fromEntries(module.metadata.map((m) => [m.key, m.value]));
    return action;
  }

  async #send(
    deviceId: string,
    subject: string,
    value: unknown,
    correlationId: string,
  ): Promise<CommandResult> {
    const client = this.#client;
    if (!client) throw new IotHubError('NOT_CONNECTED', 'commander not started');
    const requestId = randomUUID();
    const timeoutMs = this.options.responseTimeoutMs ?? 10_000;
    const envelope = liveMessage({
      thingId: this.#thingIdOf(deviceId),
      featureId: await this.#featureOf(deviceId),
      subject,
      value,
      timeout: `${Math.ceil(timeoutMs / 1000)}s`,
    });
    const answer = new Promise<{ status: number; response?: DittoEnvelope }>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(
          new IotHubError(
            'RESPONSE_TIMEOUT',
            `${subject} to ${deviceId}: no response in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#pending.set(requestId, { resolve, reject, timer });
    });
    client.publish(
      commandRequestTopic(this.#address(deviceId), requestId, subject),
      JSON.stringify(envelope),
      { qos: 1 },
    );
    const { status, response } = await answer;
    if (status >= 300) {
      throw new IotHubError('COMMAND_FAILED', `${subject} to ${deviceId} answered ${status}`, {
        status,
        response,
      });
    }
    return { requestId, correlationId, status, response };
  }

  // ------------------------------------------------------------------ reports

  #emit(outcome: ReportOutcome): void {
    this.stats[outcome.result]++;
    for (const listener of this.#listeners) listener(outcome);
  }

  #handleMessage(topic: string, payload: Buffer): void {
    const parsed = parseHonoTopic(topic);
    if (!parsed) return;
    if (parsed.kind === 'commandResponse') {
      const pending = this.#pending.get(parsed.requestId);
      if (!pending) return;
      this.#pending.delete(parsed.requestId);
      clearTimeout(pending.timer);
      let response: DittoEnvelope | undefined;
      try {
        response = parseDittoEnvelope(payload);
      } catch {
        // The status in the topic is what counts; a body is optional.
      }
      pending.resolve({ status: parsed.status, response });
      return;
    }
    if (parsed.kind !== 'event' && parsed.kind !== 'telemetry') return;
    const deviceId = parsed.deviceId;
    // Each device's reports are worked on one at a time in arrival order (outcomes included),
    // devices in parallel. The work starts after mqtt.js has gone through the packets it has
    // (setImmediate): mqtt.js handles one packet per tick, and work started here would run
    // before the next packet and its PUBACK; this way the broker gets a whole chunk's PUBACKs
    // first and sends on while core works.
    const waiting = this.#waiting.get(deviceId);
    if (waiting) waiting.push(payload);
    else {
      this.#waiting.set(deviceId, []);
      if (this.#ready.push({ deviceId, payload }) === 1) setImmediate(this.#flush);
    }
  }

  async #drain(deviceId: string, first: Buffer): Promise<void> {
    const waiting = this.#waiting.get(deviceId) as Buffer[];
    for (let payload: Buffer | undefined = first; payload; payload = waiting.shift()) {
      try {
        await this.#process(deviceId, payload);
      } catch (error) {
        // Only a listener throwing twice gets here; the device's next reports still go on.
        this.#log.error('report listener failed', { deviceId, error: (error as Error).message });
      }
    }
    this.#waiting.delete(deviceId);
  }

  async #process(deviceId: string, payload: Buffer): Promise<void> {
    try {
      const outcome = await this.#ingest(deviceId, payload);
      if (this.#logs && (outcome.result === 'dropped' || outcome.result === 'refused'))
        this.#log.warn(`report ${outcome.result}`, { ...outcome });
      this.#emit(outcome);
    } catch (error) {
      this.#log.error('report failed', { deviceId, error: (error as Error).message });
      this.#emit({ deviceId, result: 'dropped', reason: (error as Error).message });
    }
  }

  async #ingest(deviceId: string, payload: Buffer): Promise<ReportOutcome> {
    const drop = (reason: string): ReportOutcome => ({ deviceId, result: 'dropped', reason });
    let envelope: DittoEnvelope;
    try {
      envelope = parseDittoEnvelope(payload);
    } catch (error) {
      return drop((error as Error).message);
    }
    const topic = parseDittoTopic(envelope.topic);
    if (
      topic?.channel !== 'twin' ||
      topic.criterion !== 'commands' ||
      (topic.action !== 'modify' && topic.action !== 'merge')
    ) {
      return { deviceId, result: 'ignored', reason: `not a twin modify: ${envelope.topic}` };
    }
    // A device may only write its own twin, whatever it puts in the envelope.
    if (thingIdOfTopic(topic) !== this.#thingIdOf(deviceId)) {
      return drop(`thing ${thingIdOfTopic(topic)} is not device ${deviceId}'s`);
    }
    const feature = FEATURE.exec(envelope.path);
    if (feature) return this.#announce(deviceId, feature[1] as string, envelope.value);
    if (!LAST_OPERATION.test(envelope.path))
      return { deviceId, result: 'ignored', reason: `path ${envelope.path}` };
    const report = safeParseOperationStatus(envelope.value);
    if (!report.success)
      return drop(
        `invalid lastOperation: ${report.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    return this.#applyReport(deviceId, report.data);
  }

  async #announce(deviceId: string, featureId: string, value: unknown): Promise<ReportOutcome> {
    const feature = SoftwareUpdatableFeature.safeParse(value);
    if (!feature.success)
      return {
        deviceId,
        result: 'ignored',
        reason: `feature ${featureId} is not SoftwareUpdatable 2.0.0`,
      };
    await this.#service.contact(deviceId, { autoRegister: true, channel: 'mqtt' });
    const target = await this.#service.getTarget(deviceId);
    const type = feature.data.properties.status.softwareModuleType;
    if (
      target?.attributes[FEATURE_ID_ATTRIBUTE] !== featureId ||
      target.attributes[MODULE_TYPE_ATTRIBUTE] !== type
    ) {
      await this.#service.updateAttributes(deviceId, {
        [FEATURE_ID_ATTRIBUTE]: featureId,
        [MODULE_TYPE_ATTRIBUTE]: type,
      });
    }
    return { deviceId, result: 'registered' };
  }

  async #applyReport(deviceId: string, report: OperationStatus): Promise<ReportOutcome> {
    const { correlationId, status } = report;
    // The stored record, not `service.findActionByRef`'s view: id and controllerId are all we
    // need, and building a view per report costs more than the lookup itself.
    const action = await this.#service.store.findActionByRef(CORRELATION_REF, correlationId);
    if (!action)
      return {
        deviceId,
        correlationId,
        status,
        result: 'refused',
        reason: 'unknown correlationId',
      };
    const actionId = action.id;
    if (action.controllerId !== deviceId)
      return {
        deviceId,
        correlationId,
        status,
        result: 'refused',
        reason: 'correlationId of another device',
        actionId,
      };
    const messages: string[] = report.message
      ? [report.message]
      : report.progress !== undefined
        ? [`${status} ${report.progress}%`]
        : [];
    const mapped = mapSoftwareUpdatableStatus(
      status,
      { at: this.#service.now(), messages, code: numericStatusCode(report.statusCode) },
      this.#mappingOptions,
    );
    if (mapped.kind === 'ignored')
      return {
        deviceId,
        correlationId,
        status,
        result: 'ignored',
        reason: mapped.reason,
        actionId,
      };
    const applied = await this.#service.apply(actionId, mapped.event);
    if (!applied.ok)
      return {
        deviceId,
        correlationId,
        status,
        result: 'refused',
        reason: `${applied.code}: ${applied.message}`,
        actionId,
      };
    return { deviceId, correlationId, status, result: 'applied', actionId };
  }
}

export function createCommander(options: CommanderOptions): Commander {
  return new Commander(options);
}
