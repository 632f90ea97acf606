import { randomUUID } from 'node:crypto';
import {
  type Artifact,
  type DomainEvent,
  mapSoftwareUpdatableStatus,
  type SoftwareModule,
  type Suv2MappingOptions,
  type UpdateService,
} from '@otaflow/core';
import mqtt, {
  type IClientOptions,
  type IPublishPacket,
  type MqttClient,
  type PacketCallback,
} from 'mqtt';
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
  isFinalStatus,
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
/**
 * The action ref saying which command the device acknowledged (`install:<correlationId>`,
 * `download:...`, `cancel:...`); kept in core so it survives a commander restart.
 */
export const ACKNOWLEDGED_REF = 'suv2.commandAcknowledged';

/** How an unanswered command is sent again (see the README, "Command retries"). */
export interface CommandRetryOptions {
  /** Sends in all, the first included (default 5); afterwards only a feature announcement re-sends. */
  attempts?: number;
  /** Pause after the first unanswered send, doubled after each further one (default 2 s). */
  backoffMs?: number;
  /** Upper bound of the pause (default 60 s). */
  maxBackoffMs?: number;
}

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
  /**
   * MQTT client id of the persistent session (default `otaflow-commander-<tenant>`): a commander
   * that comes back with the same id gets the reports published while it was away. Two commanders
   * must never share one (the broker would switch the session between them).
   */
  clientId?: string;
  /** MQTT 5 session expiry after a disconnect (default 3600 s); 3.1.1 sessions do not expire. */
  sessionExpirySeconds?: number;
  /** MQTT 5 receive maximum: QoS 1 reports the broker may have in flight to us (default 65535). */
  receiveMaximum?: number;
  /** Re-sending of unanswered install/download/cancel commands. */
  commandRetry?: CommandRetryOptions;
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

/** One QoS 1 delivery whose PUBACK waits until the report it carries was processed. */
interface AckSlot {
  messageId: number;
  /** The connection it arrived on: an ack for a closed one is never sent (the broker re-delivers). */
  connection: number;
  done: boolean;
}

interface QueuedReport {
  payload: Buffer;
  slot: AckSlot | undefined;
}

/** mqtt.js keeps `_sendPacket` private; it is the only way to send a PUBACK of our own. */
interface PacketSender {
  _sendPacket(packet: { cmd: 'puback'; messageId: number }, cb?: PacketCallback): void;
}

/** Passed to mqtt.js's `handleMessage` callback: the packet is done, but no PUBACK yet. */
const ACK_DEFERRED = new Error('PUBACK deferred until the report is processed');

/**
 * Whether a failed first connection means the broker does not speak MQTT 5: a CONNACK refusing
 * the protocol (3.1.1's code 1 "unacceptable protocol version", 5's 0x84), or the connection
 * closed without any CONNACK and without a network error (a broker that just hangs up).
 */
export function refusesMqtt5(event: {
  errorCode?: unknown;
  closedWithoutConnack?: boolean;
}): boolean {
  if (event.errorCode === 1 || event.errorCode === 132) return true;
  return event.closedWithoutConnack === true && typeof event.errorCode !== 'string';
}

const CANCEL_STATUSES = new Set(['CANCELING', 'CANCEL_REJECTED']);

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
  readonly #waiting = new Map<string, QueuedReport[]>();
  /** Devices whose first report arrived since the last flush; see #handleMessage. */
  #ready: { deviceId: string; report: QueuedReport }[] = [];
  #flush = () => {
    const ready = this.#ready;
    this.#ready = [];
    for (const { deviceId, report } of ready) void this.#drain(deviceId, report);
  };
  /** PUBACKs owed, in arrival order (MQTT wants them in that order); `#ackHead` is the oldest. */
  #acks: AckSlot[] = [];
  #ackHead = 0;
  /** Counts connections of our own client, so an ack never goes to a later one. */
  #connection = 0;
  /** Actions with a command send loop running, so an announcement does not start a second one. */
  readonly #sending = new Map<number, { woken: boolean; wake: () => void }>();
  #stopped = false;
  #protocolVersion: 4 | 5 | undefined;
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
  #onMessage = (topic: string, payload: Buffer) => this.#handleMessage(topic, payload, undefined);
  #onConnect = () => void this.#subscribe();
  #onClose = () => {
    // Un-acked deliveries of that connection come again on the next one (same session).
    this.#connection++;
    this.#acks = [];
    this.#ackHead = 0;
  };
  #onError = (error: Error) => this.#log.warn('mqtt error', { error: error.message });
  /** Our own client only: the report is acknowledged once processed, see #handleMessage. */
  #handlePacket = (packet: IPublishPacket, callback: (error?: Error) => void) => {
    if (packet.qos !== 1) {
      callback();
      return;
    }
    const slot: AckSlot = {
      messageId: packet.messageId as number,
      connection: this.#connection,
      done: false,
    };
    this.#acks.push(slot);
    // mqtt.js handles one packet at a time and sends the PUBACK when this callback is called
    // without an error; an error only moves it on to the next packet. So the next reports flow in
    // while this one waits for core, and the PUBACK is sent by #ack.
    callback(ACK_DEFERRED);
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    this.#handleMessage(String(packet.topic), payload, slot);
  };
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

  /** The MQTT version of our own connection (5, or 4 = 3.1.1 after a fallback); unset with `client`. */
  get protocolVersion(): 4 | 5 | undefined {
    return this.#protocolVersion;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    if (this.options.client) {
      const client = this.options.client;
      this.#client = client;
      client.on('message', this.#onMessage);
      client.on('connect', this.#onConnect);
      client.on('error', this.#onError);
      if (client.connected) await this.#subscribe();
      else await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    } else {
      this.#ownsClient = true;
      await this.#connectOwn();
    }
    await this.#subscribed;
    this.#unsubscribe = this.#service.onEvent((event) => this.#onDomainEvent(event));
  }

  #clientOptions(version: 4 | 5): IClientOptions {
    const options: IClientOptions = {
      clientId: this.options.clientId ?? `otaflow-commander-${this.options.tenant}`,
      // A persistent session: reports published while we are away wait for us.
      clean: false,
      resubscribe: false,
      reconnectPeriod: 1000,
      protocolVersion: version,
    };
    if (version === 5)
      options.properties = {
        receiveMaximum: this.options.receiveMaximum ?? 65535,
        sessionExpiryInterval: this.options.sessionExpirySeconds ?? 3600,
      };
    return { ...options, ...this.options.mqttOptions };
  }

  /**
   * Connects with MQTT 5 (large receive maximum, persistent session), or with 3.1.1 when the
   * broker refuses 5 on the first connection (aedes). `mqttOptions.protocolVersion` pins it.
   */
  #connectOwn(): Promise<void> {
    const pinned = this.options.mqttOptions?.protocolVersion;
    return new Promise<void>((resolve) => {
      const open = (version: 4 | 5) => {
        const options = this.#clientOptions(version);
        const client = mqtt.connect(this.options.url as string, options);
        this.#client = client;
        this.#protocolVersion = options.protocolVersion === 5 ? 5 : 4;
        client.handleMessage = this.#handlePacket;
        client.on('connect', this.#onConnect);
        client.on('close', this.#onClose);
        client.on('error', this.#onError);
        const mayFallBack = version === 5 && pinned === undefined;
        let errorCode: unknown;
        const onError = (error: Error) => {
          errorCode = (error as { code?: unknown }).code;
          if (mayFallBack && refusesMqtt5({ errorCode })) fallBack();
        };
        const onClose = () => {
          if (mayFallBack && refusesMqtt5({ errorCode, closedWithoutConnack: true })) fallBack();
          errorCode = undefined;
        };
        const onConnect = () => {
          done();
          resolve();
        };
        const done = () => {
          client.off('error', onError);
          client.off('close', onClose);
          client.off('connect', onConnect);
        };
        const fallBack = () => {
          done();
          this.#log.info('broker refused MQTT 5; connecting with MQTT 3.1.1', {
            url: this.options.url,
          });
          client.off('connect', this.#onConnect);
          client.off('close', this.#onClose);
          client.off('error', this.#onError);
          client.end(true);
          if (!this.#stopped) open(4);
        };
        client.on('error', onError);
        client.on('close', onClose);
        client.on('connect', onConnect);
      };
      open(pinned === 4 || pinned === 3 ? 4 : 5);
    });
  }

  /** Sends the PUBACKs that are due, oldest first, stopping at the first report still in work. */
  #ack(slot: AckSlot): void {
    slot.done = true;
    if (slot.connection !== this.#connection) return;
    const client = this.#client as MqttClient;
    const acks = this.#acks;
    while (this.#ackHead < acks.length && (acks[this.#ackHead] as AckSlot).done) {
      const next = acks[this.#ackHead++] as AckSlot;
      if (client.connected)
        (client as unknown as PacketSender)._sendPacket({
          cmd: 'puback',
          messageId: next.messageId,
        });
    }
    if (this.#ackHead === acks.length) {
      this.#acks = [];
      this.#ackHead = 0;
    } else if (this.#ackHead > 4096 && this.#ackHead * 2 > acks.length) {
      acks.splice(0, this.#ackHead);
      this.#ackHead = 0;
    }
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
    this.#stopped = true;
    for (const loop of this.#sending.values()) loop.wake();
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
    if (this.#ownsClient) {
      client.off('close', this.#onClose);
      await client.endAsync();
    }
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
      // RUNNING without a correlationId: created running, or started/confirmed later.
      if ((wantsInstall && !sent) || (wantsCancel && sent)) await this.#deliver(event.actionId);
      else if (wantsCancel)
        this.#log.warn('cancel of an action never sent to the device', {
          actionId: event.actionId,
        });
    })().catch((error) =>
      this.#log.warn('command failed', {
        actionId: event.actionId,
        error: (error as Error).message,
      }),
    );
  }

  /** The command an active action still needs the device to acknowledge, if any. */
  async #pendingCommand(actionId: number): Promise<'install' | 'cancel' | undefined> {
    const record = await this.#service.store.getAction(actionId);
    const view = record && (await this.#service.getAction(actionId));
    if (!record || !view?.active || view.status === 'WAIT_FOR_CONFIRMATION') return undefined;
    const correlationId = record.refs?.[CORRELATION_REF];
    const acknowledged = record.refs?.[ACKNOWLEDGED_REF];
    if (view.status === 'CANCELING')
      return correlationId && acknowledged !== `cancel:${correlationId}` ? 'cancel' : undefined;
    return correlationId && acknowledged ? undefined : 'install';
  }

  /**
   * Sends the action's pending command until the device answers: after a response timeout again
   * with a doubling pause, `commandRetry.attempts` sends in all; a feature announcement of the
   * device cuts a pause short and grants a fresh set of attempts. One loop per action.
   */
  async #deliver(actionId: number): Promise<void> {
    if (this.#sending.has(actionId)) return;
    const retry = this.options.commandRetry ?? {};
    const attempts = Math.max(1, retry.attempts ?? 5);
    const base = retry.backoffMs ?? 2000;
    const max = retry.maxBackoffMs ?? 60_000;
    const loop = { woken: false, wake: () => {} };
    this.#sending.set(actionId, loop);
    try {
      for (let attempt = 1; !this.#stopped; attempt++) {
        const command = await this.#pendingCommand(actionId);
        if (!command) return;
        loop.woken = false;
        try {
          if (command === 'cancel') await this.sendCancel(actionId);
          else await this.sendInstall(actionId);
          return;
        } catch (error) {
          const code = (error as IotHubError).code;
          if (code !== 'RESPONSE_TIMEOUT' && code !== 'NOT_CONNECTED') {
            // The device answered and said no (COMMAND_FAILED): sending it again changes nothing.
            this.#log.warn('command failed', { actionId, error: (error as Error).message });
            return;
          }
          if (loop.woken) {
            attempt = 0;
            continue;
          }
          if (attempt >= attempts) {
            this.#log.warn('command unanswered; sent again when the device announces itself', {
              actionId,
              command,
              attempts,
            });
            return;
          }
          this.#log.info('command unanswered; sending again', { actionId, command, attempt });
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(max, base * 2 ** (attempt - 1)));
          loop.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        loop.wake = () => {};
        if (loop.woken) attempt = 0;
      }
    } finally {
      this.#sending.delete(actionId);
    }
  }

  /** A device (re)announced itself: whatever it has not acknowledged yet goes out now. */
  async #resendPending(deviceId: string): Promise<void> {
    for (const action of await this.#service.listActions(deviceId)) {
      if (!action.active) continue;
      const loop = this.#sending.get(action.id);
      if (loop) {
        loop.woken = true;
        loop.wake();
      } else if (await this.#pendingCommand(action.id)) void this.#deliver(action.id);
    }
  }

  async #acknowledged(actionId: number, value: string): Promise<void> {
    try {
      await this.#service.setActionRef(actionId, ACKNOWLEDGED_REF, value);
    } catch (error) {
      this.#log.warn('acknowledgement not recorded', { actionId, error: (error as Error).message });
    }
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
    const result = await this.#send(view.controllerId, subject, value, correlationId);
    if (record.refs?.[ACKNOWLEDGED_REF] === undefined)
      await this.#acknowledged(actionId, `${subject}:${correlationId}`);
    return result;
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
    const result = await this.#send(record.controllerId, 'cancel', value, correlationId);
    await this.#acknowledged(actionId, `cancel:${correlationId}`);
    return result;
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

  /** `slot`: the PUBACK owed for this delivery (our own client), sent once it is processed. */
  #handleMessage(topic: string, payload: Buffer, slot: AckSlot | undefined): void {
    const parsed = parseHonoTopic(topic);
    if (parsed?.kind === 'event' || parsed?.kind === 'telemetry') {
      const deviceId = parsed.deviceId;
      // Each device's reports are worked on one at a time in arrival order (outcomes included),
      // devices in parallel. The work starts after mqtt.js has gone through the packets it has
      // (setImmediate): mqtt.js handles one packet per tick, and work started here would run
      // before the next packet was even read.
      const report: QueuedReport = { payload, slot };
      const waiting = this.#waiting.get(deviceId);
      if (waiting) waiting.push(report);
      else {
        this.#waiting.set(deviceId, []);
        if (this.#ready.push({ deviceId, report }) === 1) setImmediate(this.#flush);
      }
      return;
    }
    if (slot) this.#ack(slot);
    if (parsed?.kind !== 'commandResponse') return;
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
  }

  async #drain(deviceId: string, first: QueuedReport): Promise<void> {
    const waiting = this.#waiting.get(deviceId) as QueuedReport[];
    for (let report: QueuedReport | undefined = first; report; report = waiting.shift()) {
      try {
        await this.#process(deviceId, report.payload);
      } catch (error) {
        // Only a listener throwing twice gets here; the device's next reports still go on.
        this.#log.error('report listener failed', { deviceId, error: (error as Error).message });
      }
      // Applied, refused, ignored or dropped (logged): acknowledged either way, so a report
      // core cannot take is not delivered again and again.
      if (report.slot) this.#ack(report.slot);
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
    void this.#resendPending(deviceId).catch((error) =>
      this.#log.warn('pending commands not sent', { deviceId, error: (error as Error).message }),
    );
    return { deviceId, result: 'registered' };
  }

  async #applyReport(deviceId: string, report: OperationStatus): Promise<ReportOutcome> {
    const { correlationId, status } = report;
    // Id, target and refs are all a report needs: the lean lookup builds no view.
    const action = await this.#service.findActionIdByRef(CORRELATION_REF, correlationId);
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
    // A report proves the device has the operation: no need to send the command again.
    if (applied.ok && !isFinalStatus(status)) {
      const acknowledged = action.refs[ACKNOWLEDGED_REF];
      const cancel = CANCEL_STATUSES.has(status);
      if (cancel ? acknowledged !== `cancel:${correlationId}` : acknowledged === undefined)
        await this.#acknowledged(actionId, `${cancel ? 'cancel' : 'install'}:${correlationId}`);
    }
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
