import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { IotHubError } from './IotHubError.js';

/** Header names are case-insensitive in Ditto; we read them through `header()`. */
export const DittoHeaders = z.record(z.string(), z.unknown());
export type DittoHeaders = z.infer<typeof DittoHeaders>;

/** One Ditto Protocol message (command, event, live message, response or error). */
export const DittoEnvelope = z.object({
  topic: z.string().min(1),
  headers: DittoHeaders.default({}),
  path: z.string().startsWith('/'),
  value: z.unknown().optional(),
  fields: z.string().optional(),
  status: z.number().int().min(100).max(599).optional(),
  extra: z.record(z.string(), z.unknown()).optional(),
  revision: z.number().optional(),
  timestamp: z.string().optional(),
});
export type DittoEnvelope = z.infer<typeof DittoEnvelope>;

/** The value of a Ditto error response. */
export const DittoError = z.object({
  status: z.number().int(),
  error: z.string(),
  message: z.string(),
  description: z.string().optional(),
  href: z.string().optional(),
});
export type DittoError = z.infer<typeof DittoError>;

export const DITTO_CONTENT_TYPE = 'application/vnd.eclipse.ditto+json';

export interface DittoTopic {
  namespace: string;
  name: string;
  group: string;
  channel: string;
  criterion: string;
  /** For messages the subject, which may itself contain `/`. */
  action: string;
}

/** `com.acme:device-01` -> `{namespace: 'com.acme', name: 'device-01'}`; split at the first `:`. */
export function splitThingId(thingId: string): { namespace: string; name: string } {
  const at = thingId.indexOf(':');
  if (at <= 0 || at === thingId.length - 1) {
    throw new IotHubError('INVALID_ENVELOPE', `thing id must be <namespace>:<name>: ${thingId}`);
  }
  return { namespace: thingId.slice(0, at), name: thingId.slice(at + 1) };
}

export function dittoTopic(
  thingId: string,
  channel: 'twin' | 'live',
  criterion: string,
  action: string,
): string {
  const { namespace, name } = splitThingId(thingId);
  return `${namespace}/${name}/things/${channel}/${criterion}/${action}`;
}

export function parseDittoTopic(topic: string): DittoTopic | undefined {
  const parts = topic.split('/');
  if (parts.length < 5) return undefined;
  const [namespace = '', name = '', group = '', channel = '', criterion = '', ...action] = parts;
  if (!namespace || !name || group !== 'things') return undefined;
  return { namespace, name, group, channel, criterion, action: action.join('/') };
}

export function thingIdOfTopic(topic: DittoTopic): string {
  return `${topic.namespace}:${topic.name}`;
}

/** Reads a header case-insensitively, as Ditto treats header names. */
export function header(envelope: Pick<DittoEnvelope, 'headers'>, name: string): unknown {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(envelope.headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** The per-message `correlation-id` header, not to be confused with SUv2's `value.correlationId`. */
export function correlationIdHeader(envelope: Pick<DittoEnvelope, 'headers'>): string | undefined {
  const value = header(envelope, 'correlation-id');
  return typeof value === 'string' && value ? value : undefined;
}

/** `response-required` defaults to true; devices also get it as the string `"false"`. */
export function responseRequired(envelope: Pick<DittoEnvelope, 'headers'>): boolean {
  const value = header(envelope, 'response-required');
  return !(value === false || value === 'false');
}

export function featureMessagePath(
  featureId: string,
  direction: 'inbox' | 'outbox',
  subject: string,
): string {
  return `/features/${featureId}/${direction}/messages/${subject}`;
}

export interface LiveMessageInput {
  thingId: string;
  featureId: string;
  subject: string;
  direction?: 'inbox' | 'outbox';
  value?: unknown;
  correlationId?: string;
  headers?: DittoHeaders;
  /** Ditto's `timeout` header, e.g. `60s`. */
  timeout?: string;
}

/** A live message to (inbox) or from (outbox) a feature: how SUv2 operations reach a device. */
export function liveMessage(input: LiveMessageInput): DittoEnvelope {
  const headers: DittoHeaders = {
    'correlation-id': input.correlationId ?? randomUUID(),
    'response-required': true,
    'content-type': 'application/json',
    ...input.headers,
  };
  if (input.timeout) headers.timeout = input.timeout;
  const envelope: DittoEnvelope = {
    topic: dittoTopic(input.thingId, 'live', 'messages', input.subject),
    headers,
    path: featureMessagePath(input.featureId, input.direction ?? 'inbox', input.subject),
  };
  if (input.value !== undefined) envelope.value = input.value;
  return envelope;
}

/**
 * The answer to a live message: same topic, inbox turned into outbox, the request's
 * `correlation-id` echoed, and the status (204 without value, as Kanto answers).
 */
export function messageResponse(
  request: DittoEnvelope,
  status: number,
  value?: unknown,
): DittoEnvelope {
  const headers: DittoHeaders = { 'response-required': false };
  const correlationId = correlationIdHeader(request);
  if (correlationId) headers['correlation-id'] = correlationId;
  if (value !== undefined) headers['content-type'] = 'application/json';
  const response: DittoEnvelope = {
    topic: request.topic,
    headers,
    path: request.path.replace('/inbox/', '/outbox/'),
    status,
  };
  if (value !== undefined) response.value = value;
  return response;
}

/** A message response carrying a Ditto error value, e.g. `messages:parameter.invalid` with 400. */
export function errorResponse(request: DittoEnvelope, error: DittoError): DittoEnvelope {
  return messageResponse(request, error.status, error);
}

export interface TwinCommandInput {
  thingId: string;
  path: string;
  value: unknown;
  correlationId?: string;
}

/**
 * A twin modify from the device, fire-and-forget: `response-required: false`, or Ditto would
 * send a `modify-response` command back.
 */
export function twinModify(input: TwinCommandInput): DittoEnvelope {
  return {
    topic: dittoTopic(input.thingId, 'twin', 'commands', 'modify'),
    headers: {
      'response-required': false,
      'content-type': 'application/json',
      'correlation-id': input.correlationId ?? randomUUID(),
    },
    path: input.path,
    value: input.value,
  };
}

/** A twin merge (RFC 7396 patch at `path`): updates part of a feature without clobbering siblings. */
export function twinMerge(input: TwinCommandInput): DittoEnvelope {
  return {
    topic: dittoTopic(input.thingId, 'twin', 'commands', 'merge'),
    headers: {
      'response-required': false,
      'content-type': 'application/merge-patch+json',
      'correlation-id': input.correlationId ?? randomUUID(),
    },
    path: input.path,
    value: input.value,
  };
}

/** Parses a raw MQTT payload into an envelope, or throws `INVALID_ENVELOPE`. */
export function parseDittoEnvelope(payload: Buffer | string): DittoEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch (error) {
    throw new IotHubError('INVALID_ENVELOPE', `payload is not JSON: ${(error as Error).message}`);
  }
  const parsed = DittoEnvelope.safeParse(json);
  if (!parsed.success) {
    throw new IotHubError(
      'INVALID_ENVELOPE',
      `not a Ditto envelope: ${z.prettifyError(parsed.error)}`,
      parsed.error.issues,
    );
  }
  return parsed.data;
}
