import { timingSafeEqual } from 'node:crypto';
import { commanderFilters } from './commanderConnection.js';
import { parseHonoTopic } from './honoTopics.js';

/**
 * Who a broker connection is, once authenticated: a device (Hono's `<auth-id>@<tenant>`, the
 * auth id being the device id here) or the cloud's commander of a tenant.
 */
export type BrokerIdentity =
  | { kind: 'device'; tenant: string; deviceId: string }
  | { kind: 'commander'; tenant: string };

/**
 * Which id segments a device's command subscription named. Hono echoes exactly those in the
 * command topics it delivers (`command///req/...` for `command///req/#`).
 */
export interface SubscribedForm {
  tenant: boolean;
  device: boolean;
}

export interface AuthorizedSubscription {
  /** The filter to subscribe on the plain broker: always the explicit form. */
  filter: string;
  /** Set when deliveries must be shown in the form the device subscribed with. */
  form?: SubscribedForm | undefined;
}

/** `sensor1@DEFAULT_TENANT` → auth id and tenant (split at the last `@`); undefined when malformed. */
export function parseHonoUsername(
  username: string | undefined,
): { authId: string; tenant: string } | undefined {
  if (!username) return undefined;
  const at = username.lastIndexOf('@');
  if (at <= 0 || at === username.length - 1) return undefined;
  return { authId: username.slice(0, at), tenant: username.slice(at + 1) };
}

/**
 * Whether a string can be a tenant or device id in a topic: one level, no wildcard, no control
 * character, not `.`/`..`; anything else could address a topic that is not its own.
 */
export function isTopicSegment(value: string): boolean {
  if (value.length === 0 || value.length > 256 || value === '.' || value === '..') return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  return !/[/+#\u0000-\u001f\u007f]/.test(value);
}

/** Compares a secret in constant time (for equal lengths; the length itself is not hidden). */
export function sameSecret(given: Buffer | string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.isBuffer(given) ? given : Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const own = (segment: string, value: string) => segment === '' || segment === value;

/**
 * Where a publish of `identity` may go, in the explicit form the commander reads
 * (`e/<tenant>/<device>`, `command/<tenant>/<device>/res/...`); undefined = refused. A device
 * publishes telemetry, events and command responses for itself only, in Hono's authenticated
 * (`e`, `command///res/...`) or explicit form; the commander publishes command requests only.
 */
export function authorizePublish(identity: BrokerIdentity, topic: string): string | undefined {
  const parsed = parseHonoTopic(topic);
  if (!parsed) return undefined;
  const { tenant } = identity;
  if (identity.kind === 'commander') {
    return parsed.kind === 'command' && parsed.tenant === tenant && isTopicSegment(parsed.deviceId)
      ? topic
      : undefined;
  }
  const { deviceId } = identity;
  if (!own(parsed.tenant, tenant) || !own(parsed.deviceId, deviceId)) return undefined;
  const parts = topic.split('/');
  if (parsed.kind === 'telemetry' || parsed.kind === 'event') {
    const last = parts[parts.length - 1] as string;
    const bag = last.startsWith('?') ? `/${last}` : '';
    return `${parts[0]}/${tenant}/${deviceId}${bag}`;
  }
  if (parsed.kind === 'commandResponse' && parts.length === 6) {
    const [endpoint, , , part] = parts;
    return `${endpoint}/${tenant}/${deviceId}/${part}/${parsed.requestId}/${parsed.status}`;
  }
  return undefined;
}

const DEVICE_FILTER = /^(command|c|error|e)\/([^/]*)\/([^/]*)\/(?:(req|q)\/)?#$/;

/**
 * What a subscription of `identity` becomes; undefined = refused (SUBACK 0x80). A device
 * subscribes to its own commands (`command/[tenant]/[device]/req/#`, `c/.../q/#`) and error topic
 * (`error/...` or `e/.../#`, which nothing is published on here); the commander to
 * `commanderFilters(tenant)`.
 */
export function authorizeSubscribe(
  identity: BrokerIdentity,
  filter: string,
): AuthorizedSubscription | undefined {
  const { tenant } = identity;
  if (identity.kind === 'commander')
    return commanderFilters(tenant).includes(filter) ? { filter } : undefined;
  const { deviceId } = identity;
  const match = DEVICE_FILTER.exec(filter);
  if (!match) return undefined;
  const [, endpoint, t = '', d = '', part] = match;
  if (!own(t, tenant) || !own(d, deviceId)) return undefined;
  const commands = endpoint === 'command' || endpoint === 'c';
  if (commands !== (part !== undefined)) return undefined;
  if (commands && (endpoint === 'c') !== (part === 'q')) return undefined;
  // The error topic's short form is `e`, like events: mapped to `error/...` so that a device's
  // own events are not delivered back to it.
  const base = commands
    ? `${endpoint}/${tenant}/${deviceId}/${part}/#`
    : `error/${tenant}/${deviceId}/#`;
  const form = { tenant: t !== '', device: d !== '' };
  return form.tenant && form.device ? { filter: base } : { filter: base, form };
}

/**
 * A command topic as delivered to a device that subscribed in `form`: the id segments it left
 * empty stay empty (`command/acme/d1/req/r/install` → `command///req/r/install`), as Hono sends.
 */
export function deliveredTopic(topic: string, form: SubscribedForm | undefined): string {
  if (!form) return topic;
  const parts = topic.split('/');
  if (parts.length < 6) return topic;
  if (!form.tenant) parts[1] = '';
  if (!form.device) parts[2] = '';
  return parts.join('/');
}
