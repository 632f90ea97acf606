import { IotHubError } from './IotHubError.js';

/**
 * Where a Hono topic points. Empty (or absent) tenant/device segments mean "the authenticated
 * client's own", as the Hono MQTT adapter defines them; on a plain broker both are given
 * (the explicit form), since the connection does not identify the device there.
 */
export interface HonoAddress {
  tenant?: string | undefined;
  deviceId?: string | undefined;
  /** `t`, `e`, `c`/`q`/`s` instead of `telemetry`, `event`, `command`/`req`/`res`. */
  short?: boolean | undefined;
}

export type PropertyBag = Record<string, string>;

export type ParsedHonoTopic =
  | {
      kind: 'telemetry' | 'event';
      tenant: string;
      deviceId: string;
      short: boolean;
      properties: PropertyBag;
    }
  | {
      kind: 'command';
      tenant: string;
      deviceId: string;
      short: boolean;
      /** Empty for a one-way command, which cannot be answered. */
      requestId: string;
      command: string;
    }
  | {
      kind: 'commandResponse';
      tenant: string;
      deviceId: string;
      short: boolean;
      requestId: string;
      status: number;
    };

function segment(value: string | undefined, what: string): string {
  if (value === undefined) return '';
  if (value.includes('/') || value.includes('+') || value.includes('#')) {
    throw new IotHubError('INVALID_TOPIC', `${what} must not contain '/', '+' or '#': ${value}`);
  }
  return value;
}

function bag(properties: PropertyBag | undefined): string {
  if (!properties || Object.keys(properties).length === 0) return '';
  const query = Object.entries(properties)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return `/?${query}`;
}

function prefix(endpoint: string, address: HonoAddress): string {
  const tenant = segment(address.tenant, 'tenant');
  const device = segment(address.deviceId, 'device id');
  if (!tenant && !device) return endpoint;
  return `${endpoint}/${tenant}/${device}`;
}

/** `t`, `telemetry`, `t/<tenant>/<device>`, `t//<device>` (gateway), plus an optional property bag. */
export function telemetryTopic(address: HonoAddress = {}, properties?: PropertyBag): string {
  return prefix(address.short ? 't' : 'telemetry', address) + bag(properties);
}

/** `e`, `event`, `e/<tenant>/<device>`, ...; Hono takes events with QoS 1 only. */
export function eventTopic(address: HonoAddress = {}, properties?: PropertyBag): string {
  return prefix(address.short ? 'e' : 'event', address) + bag(properties);
}

function commandBase(address: HonoAddress, part: 'req' | 'res'): string {
  const endpoint = address.short ? 'c' : 'command';
  const sub = address.short ? (part === 'req' ? 'q' : 's') : part;
  return `${endpoint}/${segment(address.tenant, 'tenant')}/${segment(address.deviceId, 'device id')}/${sub}`;
}

/**
 * The filter a device subscribes to for its commands: `command///req/#` when authenticated;
 * `command/<tenant>/<device>/req/#` in the explicit form; a gateway may use `+` as device id.
 */
export function commandSubscription(address: HonoAddress = {}): string {
  const device = address.deviceId === '+' ? '+' : segment(address.deviceId, 'device id');
  const endpoint = address.short ? 'c' : 'command';
  return `${endpoint}/${segment(address.tenant, 'tenant')}/${device}/${address.short ? 'q' : 'req'}/#`;
}

/** A command as the adapter (or a stand-in) publishes it; an empty request id makes it one-way. */
export function commandRequestTopic(
  address: HonoAddress,
  requestId: string,
  command: string,
): string {
  if (!command) throw new IotHubError('INVALID_TOPIC', 'command name must not be empty');
  return `${commandBase(address, 'req')}/${segment(requestId, 'request id')}/${command}`;
}

/** `command///res/<req-id>/<status>`; Hono accepts statuses 200..599 only. */
export function commandResponseTopic(
  address: HonoAddress,
  requestId: string,
  status: number,
): string {
  if (!requestId) throw new IotHubError('INVALID_TOPIC', 'a one-way command cannot be answered');
  if (!Number.isInteger(status) || status < 200 || status >= 600) {
    throw new IotHubError(
      'INVALID_TOPIC',
      `command response status must be an integer in 200..599: ${status}`,
    );
  }
  return `${commandBase(address, 'res')}/${segment(requestId, 'request id')}/${status}`;
}

function parseBag(raw: string): PropertyBag {
  const out: PropertyBag = {};
  for (const pair of raw.split('&')) {
    if (!pair) continue;
    const [k, v = ''] = pair.split('=');
    out[decodeURIComponent(k ?? '')] = decodeURIComponent(v);
  }
  return out;
}

/**
 * Reads any topic this package builds. Returns undefined for topics that are not Hono
 * telemetry/event/command topics (e.g. the error topic), so callers can skip them.
 */
export function parseHonoTopic(topic: string): ParsedHonoTopic | undefined {
  const parts = topic.split('/');
  const [first] = parts;
  if (first === 't' || first === 'telemetry' || first === 'e' || first === 'event') {
    let rest = parts.slice(1);
    let properties: PropertyBag = {};
    const last = rest[rest.length - 1];
    if (last?.startsWith('?')) {
      properties = parseBag(last.slice(1));
      rest = rest.slice(0, -1);
    }
    if (rest.length !== 0 && rest.length !== 2) return undefined;
    return {
      kind: first.startsWith('t') ? 'telemetry' : 'event',
      tenant: rest[0] ?? '',
      deviceId: rest[1] ?? '',
      short: first.length === 1,
      properties,
    };
  }
  if ((first === 'command' || first === 'c') && parts.length >= 6) {
    const short = first === 'c';
    const [, tenant = '', deviceId = '', part, requestId = '', ...tail] = parts;
    const name = tail.join('/');
    if (part === (short ? 'q' : 'req')) {
      if (!name) return undefined;
      return { kind: 'command', tenant, deviceId, short, requestId, command: name };
    }
    if (part === (short ? 's' : 'res') && tail.length === 1 && /^\d{3}$/.test(name)) {
      const status = Number(name);
      if (!requestId || status < 200 || status >= 600) return undefined;
      return { kind: 'commandResponse', tenant, deviceId, short, requestId, status };
    }
  }
  return undefined;
}
