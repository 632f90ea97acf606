import type { AssignedModule, DomainEvent, UpdateAssignmentEvent } from '@otaflow/core';
import {
  SIE_MAX_TARGETS_PER_MESSAGE,
  SIE_TOPIC_TYPES,
  type SieArtifactUrls,
  type SieMessage,
  type SieSoftwareModule,
  type UpdateAssignmentBody,
} from './messages.js';
import { SieError } from './SieError.js';

export type SieArtifactRef = AssignedModule['artifacts'][number];

export interface ToSieMessagesOptions {
  /** The `tenant` header. */
  tenant: string;
  /**
   * Download URLs of an artifact (only the app knows its public address). Without it, or when it
   * returns undefined, `urls` is `{}`.
   */
  artifactUrls?: (module: AssignedModule, artifact: SieArtifactRef) => SieArtifactUrls | undefined;
  /** At most this many targets per UPDATE_ASSIGNMENT message; the SIE page's limit is 1000. */
  maxTargetsPerMessage?: number;
}

/**
 * Maps one core domain event to the SIE message(s) Bosch IoT Rollouts would send for it. Pure:
 * the same event gives the same messages. Key order follows the SIE page's examples.
 */
export function toSieMessages(event: DomainEvent, options: ToSieMessagesOptions): SieMessage[] {
  const tenant = options.tenant;
  switch (event.type) {
    case 'TARGET_CREATED':
    case 'TARGET_UPDATED':
    case 'TARGET_DELETED':
      // `as`: TypeScript cannot narrow a union-typed topic onto the per-topic message union.
      return [
        {
          topic: event.type,
          headers: { type: SIE_TOPIC_TYPES[event.type], topic: event.type, tenant },
          body: {
            controllerId: event.controllerId,
            updateStatus: event.updateStatus,
            timestamp: event.timestamp,
          },
        } as SieMessage,
      ];
    case 'ACTION_CREATED':
    case 'ACTION_UPDATED':
      return [
        {
          topic: event.type,
          headers: { type: SIE_TOPIC_TYPES[event.type], topic: event.type, tenant },
          body: {
            actionId: event.actionId,
            actionStatus: event.actionStatus,
            lastActionStatusCode: event.lastActionStatusCode,
            actionActive: event.actionActive,
            controllerId: event.controllerId,
            distributionSetName: event.distributionSetName,
            distributionSetVersion: event.distributionSetVersion,
            timestamp: event.timestamp,
          },
        } as SieMessage,
      ];
    case 'UPDATE_ASSIGNMENT':
      return assignmentMessages(event, options);
    default:
      throw new SieError(
        'INVALID_MESSAGE',
        `no SIE topic for domain event type ${String((event as { type?: unknown }).type)}`,
      );
  }
}

function assignmentMessages(
  event: UpdateAssignmentEvent,
  options: ToSieMessagesOptions,
): SieMessage[] {
  const max = options.maxTargetsPerMessage ?? SIE_MAX_TARGETS_PER_MESSAGE;
  if (!Number.isInteger(max) || max < 1 || max > SIE_MAX_TARGETS_PER_MESSAGE) {
    throw new SieError(
      'INVALID_OPTIONS',
      `maxTargetsPerMessage must be an integer in 1..${SIE_MAX_TARGETS_PER_MESSAGE}`,
    );
  }
  const softwareModules = event.softwareModules.map((module) => toSieModule(module, options));
  const messages: SieMessage[] = [];
  for (let start = 0; start < event.targets.length; start += max) {
    const body: UpdateAssignmentBody = {
      timestamp: event.timestamp,
      softwareModules,
      targets: event.targets.slice(start, start + max).map((target) => ({
        actionId: target.actionId,
        controllerId: target.controllerId,
        securityToken: target.securityToken,
        type: target.type,
        confirmation: target.confirmation,
      })),
    };
    messages.push({
      topic: 'UPDATE_ASSIGNMENT',
      headers: { type: 'TARGET_EVENT', topic: 'UPDATE_ASSIGNMENT', tenant: options.tenant },
      body,
    });
  }
  return messages;
}

function toSieModule(module: AssignedModule, options: ToSieMessagesOptions): SieSoftwareModule {
  return {
    moduleId: module.moduleId,
    moduleType: module.moduleType,
    moduleVersion: module.moduleVersion,
    moduleName: module.moduleName,
    artifacts: module.artifacts.map((artifact) => ({
      filename: artifact.filename,
      hashes: {
        sha1: artifact.hashes.sha1,
        md5: artifact.hashes.md5,
        sha256: artifact.hashes.sha256,
      },
      size: artifact.size,
      urls: { ...(options.artifactUrls?.(module, artifact) ?? {}) },
    })),
    metadata: module.metadata.map((entry) => ({ key: entry.key, value: entry.value })),
  };
}
