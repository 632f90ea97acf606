import { z } from 'zod';
import {
  type ConfigValue,
  isTenantKey,
  TENANT_KEYS,
  type TenantKey,
  type TenantValues,
} from '../tenants/TenantSettings.js';
import type { EndpointRequest, ManagementContext, Reply, Route } from './ManagementContext.js';
import { hawkbitProblem, type Problem } from './Problem.js';
import { MGMT_BASE } from './representations.js';
import { check, objectBody } from './requests.js';

// hawkBit's tenant configuration (MgmtTenantManagementRestApi): the keys otaflow acts on, each
// the tenant's own value or the global default (the backend's flags). A key otaflow does not know
// is hawkBit's 400 `configKeyInvalid`, a value of the wrong type its 400 `configValueInvalid`.

const CONFIGS = '/system/configs';

/** `PUT /system/configs/{key}`'s body. */
export const ConfigValueRequest = z.object({ value: z.unknown() });
/** `PUT /system/configs`'s body: keys and their new values, applied together or not at all. */
export const ConfigBatchRequest = z.record(z.string(), z.unknown());

function keyOf(raw: string | undefined): TenantKey {
  if (raw === undefined || !isTenantKey(raw)) throw invalidKey(raw ?? '');
  return raw;
}

const invalidKey = (key: string): Problem =>
  hawkbitProblem(400, 'configKeyInvalid', `The given configuration key ${key} is invalid.`);

function checkedValue(key: TenantKey, value: unknown): TenantValues[TenantKey] {
  const parsed = TENANT_KEYS[key].safeParse(value);
  if (!parsed.success)
    throw hawkbitProblem(
      400,
      'configValueInvalid',
      `The given configuration value for ${key} is invalid: ${parsed.error.issues[0]?.message ?? 'wrong type'}.`,
    );
  return parsed.data;
}

function valueJson(request: EndpointRequest, key: TenantKey, value: ConfigValue) {
  return {
    ...value,
    _links: { self: { href: `${request.base}${MGMT_BASE}${CONFIGS}/${key}` } },
  };
}

/** `GET /system/configs`: every key, set or default. */
export async function getConfigs(api: ManagementContext, request: EndpointRequest): Promise<Reply> {
  const body: Record<string, unknown> = {};
  for (const key of Object.keys(TENANT_KEYS) as TenantKey[])
    body[key] = valueJson(request, key, api.settings.describe(key));
  return { status: 200, body };
}

/** `GET /system/configs/{keyName}`. */
export async function getConfig(api: ManagementContext, request: EndpointRequest): Promise<Reply> {
  const key = keyOf(request.params.keyName);
  return { status: 200, body: valueJson(request, key, api.settings.describe(key)) };
}

/** `PUT /system/configs/{keyName}` with `{"value": ...}`. */
export async function putConfig(api: ManagementContext, request: EndpointRequest): Promise<Reply> {
  const key = keyOf(request.params.keyName);
  const body = check(ConfigValueRequest, await objectBody(request));
  await api.settings.put({ [key]: checkedValue(key, body.value) }, api.user);
  return { status: 200, body: valueJson(request, key, api.settings.describe(key)) };
}

/** `PUT /system/configs` with a map of keys to values: every key checked before any is set. */
export async function putConfigs(api: ManagementContext, request: EndpointRequest): Promise<Reply> {
  const body = check(ConfigBatchRequest, await objectBody(request));
  const values: Partial<Record<TenantKey, unknown>> = {};
  for (const [raw, value] of Object.entries(body)) {
    const key = keyOf(raw);
    values[key] = checkedValue(key, value);
  }
  await api.settings.put(values as Partial<TenantValues>, api.user);
  return {
    status: 200,
    body: (Object.keys(values) as TenantKey[]).map((key) =>
      valueJson(request, key, api.settings.describe(key)),
    ),
  };
}

/** `DELETE /system/configs/{keyName}`: the key goes back to its global default. */
export async function deleteConfig(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  await api.settings.delete(keyOf(request.params.keyName));
  return { status: 200 };
}

export const systemConfigRoutes: Route[] = [
  { method: 'GET', path: CONFIGS, endpoint: getConfigs },
  { method: 'PUT', path: CONFIGS, endpoint: putConfigs, body: { schema: ConfigBatchRequest } },
  { method: 'GET', path: `${CONFIGS}/:keyName`, endpoint: getConfig },
  {
    method: 'PUT',
    path: `${CONFIGS}/:keyName`,
    endpoint: putConfig,
    body: { schema: ConfigValueRequest },
  },
  { method: 'DELETE', path: `${CONFIGS}/:keyName`, endpoint: deleteConfig },
];
