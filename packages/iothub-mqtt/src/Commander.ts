import {
  type DomainEvent,
  type Logger,
  type StoredActionView,
  type Suv2MappingOptions,
  silentLogger,
  type UpdateService,
} from '@otaflow/core';
import type { IClientOptions, MqttClient } from 'mqtt';
import { CommandDelivery, type CommandRetryOptions } from './CommandDelivery.js';
import { CommandRequests, type CommandResult } from './CommandRequests.js';
import { commanderFilters, connectCommander } from './commanderConnection.js';
import { type ArtifactUrlOf, cancelValue, installSubject, installValue } from './commandValues.js';
import {
  ACKNOWLEDGED_REF,
  CORRELATION_REF,
  correlationIdFor,
  type PendingCommand,
  pendingCommand,
  recordAcknowledged,
} from './correlation.js';
import { DeferredPubacks, type PubackSlot } from './DeferredPubacks.js';
import { type HonoAddress, parseHonoTopic } from './honoTopics.js';
import { IotHubError } from './IotHubError.js';
import {
  FEATURE_ID_ATTRIBUTE,
  ReportIngest,
  type ReportOutcome,
  type ReportResult,
} from './ReportIngest.js';
import { ReportQueue } from './ReportQueue.js';
import { DEFAULT_FEATURE_ID } from './softwareUpdatable.js';

export interface CommanderOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`; or give `client`. */
  url?: string;
  client?: MqttClient;
  mqttOptions?: IClientOptions;
  service: UpdateService;
  tenant: string;
  /** Where devices download an artifact from; the backend decides (artifact server, CDN...). */
  artifactUrl: ArtifactUrlOf;
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
  /**
   * Several backends on one broker: the group of an MQTT 5 shared subscription for the reports,
   * so each report reaches one of them (`commanderFilters`). Each backend still needs a
   * `clientId` of its own. Unset: this commander gets every report.
   */
  sharedGroup?: string;
  /** MQTT 5 session expiry after a disconnect (default 3600 s); 3.1.1 sessions do not expire. */
  sessionExpirySeconds?: number;
  /** MQTT 5 receive maximum: QoS 1 reports the broker may have in flight to us (default 65535). */
  receiveMaximum?: number;
  /** Re-sending of unanswered install/download/cancel commands. */
  commandRetry?: CommandRetryOptions;
  /** A pino logger or anything with core's `Logger` shape; silent by default. */
  logger?: Logger;
}

/** A device's published message waiting for its turn, with the PUBACK it owes (our own client). */
interface QueuedReport {
  payload: Buffer;
  slot: PubackSlot | undefined;
}

export function defaultThingIdOf(deviceId: string): string {
  return deviceId.includes(':') ? deviceId : `otaflow:${deviceId}`;
}

/**
 * The cloud side (a stand-in for IoT Hub + Device Management): sends SUv2 commands in the explicit
 * Hono topic form, and drives core with the devices' `lastOperation` reports. A composition of
 * the connection (`connectCommander`), acknowledgement after processing (`DeferredPubacks`), the
 * per-device order (`ReportQueue`), report ingest (`ReportIngest`), command request/response
 * (`CommandRequests`) and re-sending (`CommandDelivery`); correlation lives in `correlation.ts`.
 */
export class Commander {
  readonly options: CommanderOptions;
  readonly #service: UpdateService;
  readonly #log: Logger;
  /** No log arguments are built per report when nobody listens. */
  readonly #logs: boolean;
  readonly #thingIdOf: (deviceId: string) => string;
  readonly #requests: CommandRequests;
  readonly #delivery: CommandDelivery;
  readonly #ingest: ReportIngest;
  readonly #queue: ReportQueue<QueuedReport>;
  readonly #listeners = new Set<(outcome: ReportOutcome) => void>();
  #stopped = false;
  #protocolVersion: 4 | 5 | undefined;
  #client: MqttClient | undefined;
  #pubacks: DeferredPubacks | undefined;
  #ownsClient = false;
  #unsubscribe: (() => void) | undefined;
  #subscribed: Promise<void> = Promise.resolve();
  #onMessage = (topic: string, payload: Buffer) => this.#handleMessage(topic, payload, undefined);
  #onConnect = () => void this.#subscribe();
  #onError = (err: Error) => this.#log.warn({ err }, 'mqtt error');
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
    const service = options.service;
    const log = options.logger ?? silentLogger;
    this.#service = service;
    this.#log = log;
    this.#logs = log !== silentLogger;
    this.#thingIdOf = options.thingIdOf ?? defaultThingIdOf;
    this.#requests = new CommandRequests({
      address: (deviceId) => this.#address(deviceId),
      timeoutMs: options.responseTimeoutMs ?? 10_000,
    });
    this.#delivery = new CommandDelivery({
      retry: options.commandRetry,
      pendingCommand: async (actionId) => pendingCommand(await service.getAction(actionId)),
      send: (actionId, command) =>
        command === 'cancel' ? this.sendCancel(actionId) : this.sendInstall(actionId),
      log,
    });
    this.#ingest = new ReportIngest({
      service,
      thingIdOf: this.#thingIdOf,
      finishedWarningAs: options.finishedWarningAs,
      onAnnounced: (deviceId) =>
        void this.#resendPending(deviceId).catch((err) =>
          log.warn({ err, deviceId }, 'pending commands not sent'),
        ),
      log,
    });
    this.#queue = new ReportQueue<QueuedReport>({
      work: (deviceId, report) => this.#process(deviceId, report),
      // Only a listener throwing twice gets here; the device's next reports still go on.
      onError: (deviceId, err) => log.error({ err, deviceId }, 'report listener failed'),
    });
  }

  get client(): MqttClient | undefined {
    return this.#client;
  }

  /** The MQTT version of our own connection (5, or 4 = 3.1.1 after a fallback); unset with `client`. */
  get protocolVersion(): 4 | 5 | undefined {
    return this.#protocolVersion;
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
    this.#stopped = false;
    this.#delivery.start();
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
      await connectCommander({
        url: this.options.url as string,
        clientId: this.options.clientId ?? `otaflow-commander-${this.options.tenant}`,
        sessionExpirySeconds: this.options.sessionExpirySeconds,
        receiveMaximum: this.options.receiveMaximum,
        mqttOptions: this.options.mqttOptions,
        log: this.#log,
        stopped: () => this.#stopped,
        onClient: (client, version) => this.#wireOwn(client, version),
      });
    }
    await this.#subscribed;
    this.#unsubscribe = this.#service.onEvent((event) => this.#onDomainEvent(event));
  }

  /** Our own client: a report is acknowledged once processed (`DeferredPubacks`). */
  #wireOwn(client: MqttClient, version: 4 | 5): () => void {
    this.#client = client;
    this.#protocolVersion = version;
    const pubacks = new DeferredPubacks(client, (topic, payload, slot) =>
      this.#handleMessage(topic, payload, slot),
    );
    this.#pubacks = pubacks;
    client.on('connect', this.#onConnect);
    client.on('error', this.#onError);
    return () => {
      pubacks.detach();
      client.off('connect', this.#onConnect);
      client.off('error', this.#onError);
    };
  }

  #subscribe(): Promise<void> {
    const client = this.#client;
    if (!client) return Promise.resolve();
    this.#subscribed = client
      .subscribeAsync(commanderFilters(this.options.tenant, this.options.sharedGroup), { qos: 1 })
      .then(() => undefined)
      .catch((err) => this.#log.warn({ err }, 'subscribe failed'));
    return this.#subscribed;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#delivery.stop();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#requests.rejectAll('commander stopped');
    const client = this.#client;
    if (!client) return;
    client.off('message', this.#onMessage);
    client.off('connect', this.#onConnect);
    if (this.#ownsClient) {
      this.#pubacks?.detach();
      await client.endAsync();
    }
  }

  // ------------------------------------------------------------------ commands

  #onDomainEvent(event: DomainEvent): Promise<void> | undefined {
    if (event.type !== 'ACTION_CREATED' && event.type !== 'ACTION_UPDATED') return undefined;
    const wantsInstall = event.actionStatus === 'RUNNING' && event.actionActive;
    const wantsCancel = event.type === 'ACTION_UPDATED' && event.actionStatus === 'CANCELING';
    if (!wantsInstall && !wantsCancel) return undefined;
    const actionId = event.actionId;
    return (async () => {
      const target = await this.#service.getTarget(event.controllerId);
      if (target?.channel !== 'mqtt') return;
      const view = await this.#service.getAction(actionId);
      const sent = view?.refs[CORRELATION_REF] !== undefined;
      // RUNNING without a correlationId: created running, or started/confirmed later.
      if ((wantsInstall && !sent) || (wantsCancel && sent)) await this.#delivery.deliver(actionId);
      else if (wantsCancel)
        this.#log.warn({ actionId }, 'cancel of an action never sent to the device');
    })().catch((err) => this.#log.warn({ err, actionId }, 'command failed'));
  }

  /** A device (re)announced itself: whatever it has not acknowledged yet goes out now. */
  async #resendPending(deviceId: string): Promise<void> {
    for (const action of await this.#service.listActions(deviceId))
      if (action.active) await this.#delivery.resend(action.id);
  }

  async #actionOrThrow(actionId: number): Promise<StoredActionView> {
    const view = await this.#service.getAction(actionId);
    if (!view) throw new IotHubError('ACTION_NOT_FOUND', `action ${actionId} not found`);
    return view;
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
    const view = await this.#actionOrThrow(actionId);
    const set = await this.#service.requireDistributionSet(view.distributionSetId);
    const modules = await this.#service.modulesOf(set);
    const correlationId = await correlationIdFor(this.#service, view);
    const value = installValue(view, modules, correlationId, this.options.artifactUrl);
    const subject = installSubject(view);
    const result = await this.#send(view.controllerId, subject, value, correlationId);
    if (view.refs[ACKNOWLEDGED_REF] === undefined)
      await this.#acknowledged(actionId, `${subject}:${correlationId}`);
    return result;
  }

  /** Sends cancel for an action whose install was sent (same correlationId, no artifacts). */
  async sendCancel(actionId: number): Promise<CommandResult> {
    const view = await this.#actionOrThrow(actionId);
    const correlationId = view.refs[CORRELATION_REF];
    if (!correlationId)
      throw new IotHubError('NO_CORRELATION_ID', `action ${actionId} was never sent to its device`);
    const set = await this.#service.requireDistributionSet(view.distributionSetId);
    const modules = await this.#service.modulesOf(set);
    const result = await this.#send(
      view.controllerId,
      'cancel',
      cancelValue(modules, correlationId),
      correlationId,
    );
    await this.#acknowledged(actionId, `cancel:${correlationId}`);
    return result;
  }

  #acknowledged(actionId: number, value: string): Promise<void> {
    return recordAcknowledged(this.#service, this.#log, actionId, value);
  }

  async #send(
    deviceId: string,
    subject: PendingCommand | 'download',
    value: unknown,
    correlationId: string,
  ): Promise<CommandResult> {
    if (!this.#client) throw new IotHubError('NOT_CONNECTED', 'commander not started');
    const featureId = await this.#featureOf(deviceId);
    return this.#requests.send(this.#client, {
      deviceId,
      thingId: this.#thingIdOf(deviceId),
      featureId,
      subject,
      value,
      correlationId,
    });
  }

  // ------------------------------------------------------------------ reports

  #emit(outcome: ReportOutcome): void {
    this.stats[outcome.result]++;
    for (const listener of this.#listeners) listener(outcome);
  }

  /** `slot`: the PUBACK owed for this delivery (our own client), sent once it is processed. */
  #handleMessage(topic: string, payload: Buffer, slot: PubackSlot | undefined): void {
    const parsed = parseHonoTopic(topic);
    if (parsed?.kind === 'event' || parsed?.kind === 'telemetry') {
      // Each device's reports one at a time in arrival order (outcomes included), devices in parallel.
      this.#queue.push(parsed.deviceId, { payload, slot });
      return;
    }
    if (slot) this.#pubacks?.ack(slot);
    // QoS 0 or 1 alike (Hono takes both for command responses); only QoS 1 owes a PUBACK.
    if (
      parsed?.kind === 'commandResponse' &&
      !this.#requests.answer(parsed.requestId, parsed.status, payload)
    )
      this.#log.debug(
        { deviceId: parsed.deviceId, requestId: parsed.requestId },
        'response to no request of ours',
      );
  }

  async #process(deviceId: string, report: QueuedReport): Promise<void> {
    try {
      const outcome = await this.#ingest.ingest(deviceId, report.payload);
      if (this.#logs && (outcome.result === 'dropped' || outcome.result === 'refused'))
        this.#log.warn({ ...outcome }, `report ${outcome.result}`);
      // A lastOperation that moved nothing (unknown status, a feature never announced) is
      // recorded in the log, so a device stuck in RUNNING can be explained.
      else if (this.#logs && outcome.result === 'ignored' && outcome.correlationId !== undefined)
        this.#log.info({ ...outcome }, 'report ignored');
      this.#emit(outcome);
    } catch (err) {
      // A listener that throws twice leaves through here, to the queue's onError.
      this.#log.error({ err, deviceId }, 'report failed');
      this.#emit({ deviceId, result: 'dropped', reason: (err as Error).message });
    } finally {
      // Applied, refused, ignored or dropped (logged): acknowledged either way, so a report
      // core cannot take is not delivered again and again.
      if (report.slot) this.#pubacks?.ack(report.slot);
    }
  }
}

export function createCommander(options: CommanderOptions): Commander {
  return new Commander(options);
}
