import { parseArgs } from 'node:util';
import { z } from 'zod';
import { BackendError } from './BackendError.js';
import { LogLevel } from './logger.js';

const Port = z.coerce.number().int().min(0).max(65535);
const Url = (protocols: readonly string[]) =>
  z
    .string()
    .url()
    .refine((value) => protocols.includes(new URL(value).protocol), {
      message: `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    });

/** Environment spellings of booleans: what shells and compose files usually write. */
const Flag = z.union([
  z.boolean(),
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off']))
    .transform((v) => ['1', 'true', 'yes', 'on'].includes(v)),
]);

export const BackendConfig = z.object({
  port: Port.default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  tenant: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'tenant: letters, digits, _ and - only')
    .default('DEFAULT'),
  user: z.string().min(1).default('admin'),
  password: z.string().min(1).default('admin'),
  /** Where artifacts are kept; a temporary directory (removed on exit) when unset. */
  dataDir: z.string().min(1).optional(),
  mqttUrl: Url(['mqtt:', 'mqtts:', 'ws:', 'wss:']).optional(),
  amqpUrl: Url(['amqp:', 'amqps:']).optional(),
  inspect: Flag.default(false),
  inspectPort: Port.default(8090),
  logLevel: LogLevel.default('info'),
  /** DDI `GatewayToken` accepted for every target of the tenant; unset = gateway auth off. */
  gatewayToken: z.string().min(1).optional(),
  /** DDI `TargetToken` auth (each device's securityToken). */
  targetTokenAuth: Flag.default(false),
  /** Base of every absolute URL the server hands out (HAL links, DDI download links). */
  publicUrl: Url(['http:', 'https:']).optional(),
  /** Huawei platform (or its stand-in) to create upgrade tasks on for `huawei` targets. */
  huaweiPlatformUrl: Url(['http:', 'https:']).optional(),
  huaweiAppId: z.string().min(1).default('otaflow-app'),
  huaweiSecret: z.string().min(1).default('otaflow-secret'),
  /** Largest accepted artifact upload, in bytes (hawkBit: 1 GiB). */
  maxArtifactBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024 * 1024),
});
export type BackendConfig = z.infer<typeof BackendConfig>;
export type BackendConfigInput = z.input<typeof BackendConfig>;

interface OptionSpec {
  key: keyof BackendConfig;
  flag: string;
  env: string;
  type: 'string' | 'boolean';
  value?: string;
  help: string;
}

/** One table drives the parser, the environment lookup and the help text, so they cannot drift. */
const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'port',
    flag: 'port',
    env: 'PORT',
    type: 'string',
    value: 'n',
    help: 'HTTP port (default 8080; 0 = any free port)',
  },
  {
    key: 'host',
    flag: 'host',
    env: 'HOST',
    type: 'string',
    value: 'addr',
    help: 'HTTP bind address (default 127.0.0.1)',
  },
  {
    key: 'tenant',
    flag: 'tenant',
    env: 'TENANT',
    type: 'string',
    value: 'name',
    help: 'DDI tenant in /{tenant}/controller/v1 (default DEFAULT)',
  },
  {
    key: 'user',
    flag: 'user',
    env: 'MGMT_USER',
    type: 'string',
    value: 'name',
    help: 'Management API basic-auth user (default admin)',
  },
  {
    key: 'password',
    flag: 'password',
    env: 'MGMT_PASSWORD',
    type: 'string',
    value: 'secret',
    help: 'Management API basic-auth password (default admin)',
  },
  {
    key: 'dataDir',
    flag: 'data-dir',
    env: 'DATA_DIR',
    type: 'string',
    value: 'dir',
    help: 'artifact storage directory (default: a temporary directory)',
  },
  {
    key: 'mqttUrl',
    flag: 'mqtt-url',
    env: 'MQTT_URL',
    type: 'string',
    value: 'url',
    help: 'MQTT broker for the IoT Hub commander (default: embedded broker)',
  },
  {
    key: 'amqpUrl',
    flag: 'amqp-url',
    env: 'AMQP_URL',
    type: 'string',
    value: 'url',
    help: 'AMQP broker for SIE events (default: no SIE)',
  },
  {
    key: 'inspect',
    flag: 'inspect',
    env: 'INSPECT',
    type: 'boolean',
    help: 'stream every target and action machine to the XState inspector',
  },
  {
    key: 'inspectPort',
    flag: 'inspect-port',
    env: 'INSPECT_PORT',
    type: 'string',
    value: 'n',
    help: 'inspector server port (default 8090)',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: 'LOG_LEVEL',
    type: 'string',
    value: 'level',
    help: 'debug | info | warn | error | silent (default info)',
  },
  {
    key: 'gatewayToken',
    flag: 'gateway-token',
    env: 'GATEWAY_TOKEN',
    type: 'string',
    value: 'token',
    help: 'DDI gateway token (default: gateway auth off)',
  },
  {
    key: 'targetTokenAuth',
    flag: 'target-token-auth',
    env: 'TARGET_TOKEN_AUTH',
    type: 'boolean',
    help: 'require DDI TargetToken auth (default off; --no-target-token-auth)',
  },
  {
    key: 'publicUrl',
    flag: 'public-url',
    env: 'PUBLIC_URL',
    type: 'string',
    value: 'url',
    help: 'base URL for links (default: from the request Host header)',
  },
  {
    key: 'huaweiPlatformUrl',
    flag: 'huawei-platform-url',
    env: 'HUAWEI_PLATFORM_URL',
    type: 'string',
    value: 'url',
    help: 'Huawei platform for huawei-channel targets (default: none)',
  },
  {
    key: 'huaweiAppId',
    flag: 'huawei-app-id',
    env: 'HUAWEI_APP_ID',
    type: 'string',
    value: 'id',
    help: 'Huawei application id (default otaflow-app)',
  },
  {
    key: 'huaweiSecret',
    flag: 'huawei-secret',
    env: 'HUAWEI_SECRET',
    type: 'string',
    value: 'secret',
    help: 'Huawei application secret (default otaflow-secret)',
  },
  {
    key: 'maxArtifactBytes',
    flag: 'max-artifact-bytes',
    env: 'MAX_ARTIFACT_BYTES',
    type: 'string',
    value: 'n',
    help: 'largest artifact upload in bytes (default 1 GiB)',
  },
];

export function helpText(): string {
  const rows = OPTIONS.map((o) => {
    const left = `  --${o.flag}${o.value ? ` <${o.value}>` : ''}`;
    return `${left.padEnd(34)} ${o.env.padEnd(20)} ${o.help}`;
  });
  return [
    'otaflow backend: a light hawkBit-compatible update server',
    '',
    'Usage: otaflow-backend [options]',
    '',
    `  ${'flag'.padEnd(32)} ${'environment'.padEnd(20)} meaning`,
    ...rows,
    `  ${'--help, -h'.padEnd(32)} ${''.padEnd(20)} print this text and exit`,
    '',
    'Flags win over environment variables. Endpoints: /rest/v1 (Management API, basic auth),',
    '/{tenant}/controller/v1 (DDI), /v1.0.0/messageReceiver (Huawei receiver),',
    '/artifacts/{moduleId}/{filename} (downloads for MQTT devices), /livez, /readyz.',
    '',
  ].join('\n');
}

export type ParsedCommandLine =
  | { kind: 'help'; text: string }
  | { kind: 'run'; config: BackendConfig };

/** Reads flags, then the environment, then defaults; a bad value is a `BackendError('BAD_CONFIG')`. */
export function parseCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedCommandLine {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const o of OPTIONS) options[o.flag] = { type: o.type };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options,
      allowNegative: true,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new BackendError('BAD_CONFIG', (error as Error).message);
  }
  if (values.help) return { kind: 'help', text: helpText() };
  const raw: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const fromFlag = values[o.flag];
    const fromEnv = env[o.env];
    if (fromFlag !== undefined) raw[o.key] = fromFlag;
    else if (fromEnv !== undefined && fromEnv !== '') raw[o.key] = fromEnv;
  }
  return { kind: 'run', config: parseConfig(raw) };
}

export function parseConfig(input: BackendConfigInput | Record<string, unknown>): BackendConfig {
  const parsed = BackendConfig.safeParse(input);
  if (!parsed.success) {
    const byKey = new Map(OPTIONS.map((o) => [o.key as string, o]));
    const lines = parsed.error.issues.map((issue) => {
      const o = byKey.get(String(issue.path[0]));
      return `${o ? `--${o.flag} / ${o.env}` : issue.path.join('.')}: ${issue.message}`;
    });
    throw new BackendError(
      'BAD_CONFIG',
      `invalid configuration:\n  ${lines.join('\n  ')}`,
      parsed.error.issues,
    );
  }
  return parsed.data;
}
