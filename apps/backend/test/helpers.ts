import { type BackendConfigInput, parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type Backend, startBackend } from '../src/server.js';

export const AUTH = `Basic ${Buffer.from('admin:admin').toString('base64')}`;

export async function startTestBackend(
  overrides: Partial<BackendConfigInput> = {},
): Promise<Backend> {
  const config = parseConfig({ port: 0, host: '127.0.0.1', logLevel: 'silent', ...overrides });
  return startBackend(config, {
    logger: createLogger({ level: 'silent' }),
    amqpConnectTimeoutMs: 1500,
    strictApiDocs: true,
  });
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected field by field
  json: any;
}

/** One Management API call over loopback; `body` objects are sent as JSON. */
export async function call(
  backend: Backend,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const init: RequestInit = {
    method,
    headers: { Authorization: AUTH, Accept: 'application/json', ...headers },
  };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(`${backend.url}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A target, an `os` module with one artifact and a set of it: the usual starting point. */
export async function seed(backend: Backend, controllerIds: string[], name = 'fw') {
  await call(
    backend,
    'POST',
    '/rest/v1/targets',
    controllerIds.map((controllerId) => ({ controllerId })),
  );
  const sm = await call(backend, 'POST', '/rest/v1/softwaremodules', [
    { name, version: '1.0.0', type: 'os' },
  ]);
  const moduleId = sm.json[0].id as number;
  const ds = await call(backend, 'POST', '/rest/v1/distributionsets', [
    { name, version: '1.0.0', type: 'os', modules: [{ id: moduleId }] },
  ]);
  return { moduleId, setId: ds.json[0].id as number };
}

/** A device's DDI call (anonymous DDI, the test backend's default): GET, or POST with a body. */
export async function ddi(backend: Backend, device: string, path = '', body?: unknown) {
  const res = await fetch(`${backend.url}/DEFAULT/controller/v1/${device}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Accept: 'application/hal+json', 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

/** The action a device sees at its poll (its deploymentBase), if any. */
export async function deviceAction(backend: Backend, device: string): Promise<number | undefined> {
  const href: string | undefined = (await ddi(backend, device))?._links?.deploymentBase?.href;
  return href ? Number(/deploymentBase\/(\d+)/.exec(href)?.[1]) : undefined;
}

/** The device closes its current action with `result`; throws when it sees none. */
export async function finishAction(
  backend: Backend,
  device: string,
  result: 'success' | 'failure',
): Promise<void> {
  const id = await deviceAction(backend, device);
  if (id === undefined) throw new Error(`${device} sees no action`);
  await ddi(backend, device, `/deploymentBase/${id}/feedback`, {
    status: { execution: 'closed', result: { finished: result } },
  });
}
