import type { ServerResponse } from 'node:http';
import type { ApplyResult } from '@otaflow/core';
import { DdiError } from '../DdiError.js';
import { type HawkbitErrorKind, hawkbitErrorBody } from '../http/hawkbitErrors.js';

/** An answer that ends a request early: thrown by endpoints, written by the server. */
export function refused(status: number, kind?: HawkbitErrorKind, message?: string): DdiError {
  const body = kind === undefined ? undefined : hawkbitErrorBody(kind, message ?? '');
  return new DdiError('REFUSED', message ?? `refused with ${status}`, status, body);
}

export const notFound = (message: string): DdiError => refused(404, 'notFound', message);

export const notReadable = (message: string): DdiError => refused(400, 'notReadable', message);

export const notOwned = (controllerId: string, actionId: number): DdiError =>
  notFound(`Not a valid action (${actionId}) for target ${controllerId}.`);

/** How a refused report is answered: a closed action is 410 Gone, as in hawkBit. */
export function feedbackRefusal(result: Extract<ApplyResult, { ok: false }>): DdiError {
  if (result.code === 'ACTION_CLOSED') return refused(410);
  if (result.code === 'QUOTA_EXCEEDED')
    return quotaExceeded(`Quota exceeded: ${result.message}.`, { kind: 'statusEntriesPerAction' });
  if (result.code === 'ACTION_NOT_FOUND') return notFound(result.message);
  return refused(404);
}

/** A quota would be passed: 429 with hawkBit's quota body, nothing stored. */
export const quotaExceeded = (message: string, info?: Record<string, unknown>): DdiError =>
  new DdiError('REFUSED', message, 429, hawkbitErrorBody('quota', message, info));

/** A client registered too many new targets too fast: 429 with `Retry-After` in seconds. */
export function tooManyRegistrations(res: ServerResponse, waitMs: number): DdiError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  res.setHeader('Retry-After', String(seconds));
  return quotaExceeded(
    `Quota exceeded: too many new targets registered from this client; retry in ${seconds} s.`,
    { retryAfterSeconds: seconds },
  );
}
