import { randomUUID } from 'node:crypto';
import type { Logger, StoredActionView, UpdateService } from '@otaflow/core';
import { isFinalStatus } from './softwareUpdatable.js';

/** The action ref under which the SUv2 `correlationId` of an action is stored in core. */
export const CORRELATION_REF = 'suv2.correlationId';
/**
 * The action ref saying which command the device acknowledged (`install:<correlationId>`,
 * `download:...`, `cancel:...`); kept in core so it survives a commander restart.
 */
export const ACKNOWLEDGED_REF = 'suv2.commandAcknowledged';

/** The command an action can still owe its device. */
export type PendingCommand = 'install' | 'cancel';

const CANCEL_STATUSES = new Set(['CANCELING', 'CANCEL_REJECTED']);

/** A fresh correlationId for an action's first command. */
export function newCorrelationId(actionId: number): string {
  return `otaflow-${actionId}-${randomUUID()}`;
}

/** The correlationId the action's commands carry: the stored one, else a new one stored first. */
export async function correlationIdFor(
  service: UpdateService,
  view: StoredActionView,
): Promise<string> {
  const stored = view.refs[CORRELATION_REF];
  if (stored) return stored;
  const correlationId = newCorrelationId(view.id);
  await service.setActionRef(view.id, CORRELATION_REF, correlationId);
  return correlationId;
}

/** The command an active action still needs its device to acknowledge, if any. */
export function pendingCommand(view: StoredActionView | undefined): PendingCommand | undefined {
  if (!view?.active || view.status === 'WAIT_FOR_CONFIRMATION') return undefined;
  const correlationId = view.refs[CORRELATION_REF];
  const acknowledged = view.refs[ACKNOWLEDGED_REF];
  if (view.status === 'CANCELING')
    return correlationId && acknowledged !== `cancel:${correlationId}` ? 'cancel' : undefined;
  return correlationId && acknowledged ? undefined : 'install';
}

/**
 * What a device's report for an open operation says it acknowledged (a report proves the device
 * has the operation), or undefined when that is already stored or the report says nothing new.
 */
export function acknowledgedByReport(
  refs: Readonly<Record<string, string>>,
  correlationId: string,
  status: string,
): string | undefined {
  if (isFinalStatus(status)) return undefined;
  const acknowledged = refs[ACKNOWLEDGED_REF];
  if (CANCEL_STATUSES.has(status))
    return acknowledged !== `cancel:${correlationId}` ? `cancel:${correlationId}` : undefined;
  return acknowledged === undefined ? `install:${correlationId}` : undefined;
}

/** Stores what the device acknowledged; a failure is logged, since the worst case is a re-send. */
export async function recordAcknowledged(
  service: UpdateService,
  log: Logger,
  actionId: number,
  value: string,
): Promise<void> {
  try {
    await service.setActionRef(actionId, ACKNOWLEDGED_REF, value);
  } catch (err) {
    log.warn({ err, actionId }, 'acknowledgement not recorded');
  }
}
