import {
  type Logger,
  mapSoftwareUpdatableStatus,
  type Suv2MappingOptions,
  type UpdateService,
} from '@otaflow/core';
import { acknowledgedByReport, CORRELATION_REF, recordAcknowledged } from './correlation.js';
import {
  type DittoEnvelope,
  parseDittoEnvelope,
  parseDittoTopic,
  thingIdOfTopic,
} from './dittoEnvelope.js';
import {
  numericStatusCode,
  type OperationStatus,
  SoftwareUpdatableFeature,
  safeParseOperationStatus,
} from './softwareUpdatable.js';

/** Target attributes the commander records from a feature announcement. */
export const FEATURE_ID_ATTRIBUTE = 'suv2.featureId';
export const MODULE_TYPE_ATTRIBUTE = 'suv2.softwareModuleType';

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

export interface ReportIngestOptions {
  service: UpdateService;
  thingIdOf: (deviceId: string) => string;
  /** Passed to core's mapping: what FINISHED_WARNING does to an action. */
  finishedWarningAs?: Suv2MappingOptions['finishedWarningAs'] | undefined;
  /** A device (re)announced its feature: whatever it has not acknowledged may go out now. */
  onAnnounced: (deviceId: string) => void;
  log: Logger;
}

const LAST_OPERATION = /^\/features\/([^/]+)\/properties\/status\/lastOperation$/;
const FEATURE = /^\/features\/([^/]+)$/;

/**
 * A device's twin modifications into core: a `SoftwareUpdatable` feature announcement registers
 * the device, a `lastOperation` is matched to its action by correlationId, mapped by core's
 * `mapSoftwareUpdatableStatus` and applied. Never throws for what a device sent: every message
 * gets an outcome, and only core's answer changes state.
 */
export class ReportIngest {
  readonly #options: ReportIngestOptions;
  readonly #service: UpdateService;
  /** Built once: every report passes it to core's mapping. */
  readonly #mappingOptions: Suv2MappingOptions;

  constructor(options: ReportIngestOptions) {
    this.#options = options;
    this.#service = options.service;
    this.#mappingOptions = options.finishedWarningAs
      ? { finishedWarningAs: options.finishedWarningAs }
      : {};
  }

  /** One published message of `deviceId` (the topic's device, which the broker vouches for). */
  async ingest(deviceId: string, payload: Buffer): Promise<ReportOutcome> {
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
    if (thingIdOfTopic(topic) !== this.#options.thingIdOf(deviceId)) {
      return drop(`thing ${thingIdOfTopic(topic)} is not device ${deviceId}'s`);
    }
    const feature = FEATURE.exec(envelope.path);
    if (feature) return this.announce(deviceId, feature[1] as string, envelope.value);
    const lastOperation = LAST_OPERATION.exec(envelope.path);
    if (!lastOperation) return { deviceId, result: 'ignored', reason: `path ${envelope.path}` };
    const report = safeParseOperationStatus(envelope.value);
    if (!report.success)
      return drop(
        `invalid lastOperation: ${report.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    // Only the feature the device announced as SoftwareUpdatable speaks for its updates: a
    // lastOperation written to any other feature is the twin's business, not an action's.
    const featureId = lastOperation[1] as string;
    const announced = await this.#service.getTarget(deviceId);
    if (announced?.attributes[FEATURE_ID_ATTRIBUTE] !== featureId)
      return {
        deviceId,
        correlationId: report.data.correlationId,
        status: report.data.status,
        result: 'ignored',
        reason: `feature ${featureId} was not announced as SoftwareUpdatable`,
      };
    return this.applyReport(deviceId, report.data);
  }

  /** A feature announcement: registers the device (channel `mqtt`) and keeps its feature id and type. */
  async announce(deviceId: string, featureId: string, value: unknown): Promise<ReportOutcome> {
    const feature = SoftwareUpdatableFeature.safeParse(value);
    if (!feature.success)
      return {
        deviceId,
        result: 'ignored',
        reason: `feature ${featureId} is not SoftwareUpdatable 2.0.0`,
      };
    const service = this.#service;
    await service.contact(deviceId, { autoRegister: true, channel: 'mqtt' });
    const target = await service.getTarget(deviceId);
    const type = feature.data.properties.status.softwareModuleType;
    if (
      target?.attributes[FEATURE_ID_ATTRIBUTE] !== featureId ||
      target.attributes[MODULE_TYPE_ATTRIBUTE] !== type
    ) {
      await service.updateAttributes(deviceId, {
        [FEATURE_ID_ATTRIBUTE]: featureId,
        [MODULE_TYPE_ATTRIBUTE]: type,
      });
    }
    // What it announces as installed (after a restart too) may confirm its last update.
    const installed = Object.values(feature.data.properties.status.installedDependencies ?? {});
    if (installed.length > 0)
      await service.reportInstalled(deviceId, (_set, modules) =>
        modules.every((m) => installed.some((d) => d.name === m.name && d.version === m.version)),
      );
    this.#options.onAnnounced(deviceId);
    return { deviceId, result: 'registered' };
  }

  /** A valid `lastOperation`: matched, mapped and applied; refused when core or the match says no. */
  async applyReport(deviceId: string, report: OperationStatus): Promise<ReportOutcome> {
    const service = this.#service;
    const { correlationId, status } = report;
    // Id, target and refs are all a report needs: the lean lookup builds no view.
    const action = await service.findActionIdByRef(CORRELATION_REF, correlationId);
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
      { at: service.now(), messages, code: numericStatusCode(report.statusCode) },
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
    const applied = await service.apply(actionId, mapped.event);
    if (!applied.ok)
      return {
        deviceId,
        correlationId,
        status,
        result: 'refused',
        reason: `${applied.code}: ${applied.message}`,
        actionId,
      };
    // A report proves the device has the operation: no need to send the command again.
    const acknowledged = acknowledgedByReport(action.refs, correlationId, status);
    if (acknowledged !== undefined)
      await recordAcknowledged(service, this.#options.log, actionId, acknowledged);
    return { deviceId, correlationId, status, result: 'applied', actionId };
  }
}
