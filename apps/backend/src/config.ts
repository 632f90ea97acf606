import {
  CliError,
  type CliSpec,
  helpText as cliHelpText,
  type FlagSpecs,
  parseFlags,
} from '@otaflow/cli';
import { parsePollingSleep } from '@otaflow/ddi-http';
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
  /** The polling sleep DDI devices are told (`config.polling.sleep`). */
  ddiPollingSleep: z
    .string()
    .refine((value) => {
      try {
        return parsePollingSleep(value) > 0;
      } catch {
        return false;
      }
    }, 'must be HH:mm:ss or an ISO-8601 duration above zero, e.g. 00:00:01')
    .default('00:05:00'),
  /** SIE exchange and queue names (unique ones let parallel runs share a broker). */
  sieExchange: z.string().min(1).max(255).default('sievent.exchange'),
  sieQueue: z.string().min(1).max(255).default('sievent_queue'),
  /** SIE messages that may wait for the broker before events are refused (BUFFER_FULL). */
  sieBuffer: z.coerce.number().int().positive().default(100_000),
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

/**
 * The command line, for @otaflow/cli's `parseFlags`. Every value is read as a string (booleans
 * as booleans) so that the zod schema above stays the one place that validates and defaults.
 */
export const BACKEND_CLI = {
  name: 'otaflow-backend',
  summary: 'a light hawkBit-compatible update server',
  flags: {
    port: {
      type: 'string',
      env: 'PORT',
      placeholder: 'n',
      description: 'HTTP port (default 8080; 0 = any free port)',
    },
    host: {
      type: 'string',
      env: 'HOST',
      placeholder: 'addr',
      description: 'HTTP bind address (default 127.0.0.1)',
    },
    tenant: {
      type: 'string',
      env: 'TENANT',
      placeholder: 'name',
      description: 'DDI tenant in /{tenant}/controller/v1 (default DEFAULT)',
    },
    user: {
      type: 'string',
      env: 'MGMT_USER',
      placeholder: 'name',
      description: 'Management API basic-auth user (default admin)',
    },
    password: {
      type: 'string',
      env: 'MGMT_PASSWORD',
      placeholder: 'secret',
      description: 'Management API basic-auth password (default admin)',
    },
    dataDir: {
      type: 'string',
      env: 'DATA_DIR',
      placeholder: 'dir',
      description: 'artifact storage directory (default: a temporary directory)',
    },
    mqttUrl: {
      type: 'string',
      env: 'MQTT_URL',
      placeholder: 'url',
      description: 'MQTT broker for the IoT Hub commander (default: embedded broker)',
    },
    amqpUrl: {
      type: 'string',
      env: 'AMQP_URL',
      placeholder: 'url',
      description: 'AMQP broker for SIE events (default: no SIE)',
    },
    sieExchange: {
      type: 'string',
      env: 'SIE_EXCHANGE',
      placeholder: 'name',
      description: 'SIE exchange to publish to (default sievent.exchange)',
    },
    sieQueue: {
      type: 'string',
      env: 'SIE_QUEUE',
      placeholder: 'name',
      description: 'SIE queue declared and bound to it (default sievent_queue)',
    },
    sieBuffer: {
      type: 'string',
      env: 'SIE_BUFFER',
      placeholder: 'n',
      description:
        'SIE messages that may wait for the broker before events are refused (default 100000)',
    },
    inspect: {
      type: 'boolean',
      env: 'INSPECT',
      description: 'stream every target and action machine to the XState inspector',
    },
    inspectPort: {
      type: 'string',
      env: 'INSPECT_PORT',
      placeholder: 'n',
      description: 'inspector server port (default 8090)',
    },
    logLevel: {
      type: 'string',
      env: 'LOG_LEVEL',
      placeholder: 'level',
      description: 'debug | info | warn | error | silent (default info)',
    },
    gatewayToken: {
      type: 'string',
      env: 'GATEWAY_TOKEN',
      placeholder: 'token',
      description: 'DDI gateway token (default: gateway auth off)',
    },
    targetTokenAuth: {
      type: 'boolean',
      env: 'TARGET_TOKEN_AUTH',
      description: 'require DDI TargetToken auth (default off; --no-target-token-auth)',
    },
    ddiPollingSleep: {
      type: 'string',
      env: 'DDI_POLLING_SLEEP',
      placeholder: 'HH:mm:ss',
      description: 'polling sleep DDI devices are told (default 00:05:00)',
    },
    publicUrl: {
      type: 'string',
      env: 'PUBLIC_URL',
      placeholder: 'url',
      description: 'base URL for links (default: from the request Host header)',
    },
    huaweiPlatformUrl: {
      type: 'string',
      env: 'HUAWEI_PLATFORM_URL',
      placeholder: 'url',
      description: 'Huawei platform for huawei-channel targets (default: none)',
    },
    huaweiAppId: {
      type: 'string',
      env: 'HUAWEI_APP_ID',
      placeholder: 'id',
      description: 'Huawei application id (default otaflow-app)',
    },
    huaweiSecret: {
      type: 'string',
      env: 'HUAWEI_SECRET',
      placeholder: 'secret',
      description: 'Huawei application secret (default otaflow-secret)',
    },
    maxArtifactBytes: {
      type: 'string',
      env: 'MAX_ARTIFACT_BYTES',
      placeholder: 'n',
      description: 'largest artifact upload in bytes (default 1 GiB)',
    },
  },
  examples: [
    'otaflow-backend --port 0 --inspect',
    'MQTT_URL=mqtt://127.0.0.1:1883 AMQP_URL=amqp://guest:guest@127.0.0.1:5672 otaflow-backend',
    'Flags win over environment variables. Endpoints: /rest/v1 (Management API, basic auth),',
    '/{tenant}/controller/v1 (DDI), /v1.0.0/messageReceiver (Huawei receiver),',
    '/artifacts/{moduleId}/{filename} (downloads for MQTT devices), /livez, /readyz.',
  ],
} as const satisfies CliSpec<FlagSpecs>;

type FlagKey = keyof typeof BACKEND_CLI.flags;

export function helpText(): string {
  return cliHelpText(BACKEND_CLI);
}

export type ParsedCommandLine =
  | { kind: 'help'; text: string }
  | { kind: 'run'; config: BackendConfig };

/** Reads flags, then the environment, then defaults; a bad value is a `BackendError('BAD_CONFIG')`. */
export function parseCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedCommandLine {
  let parsed: ReturnType<typeof parseFlags<typeof BACKEND_CLI.flags>>;
  try {
    parsed = parseFlags(BACKEND_CLI, argv, env);
  } catch (error) {
    if (error instanceof CliError) throw new BackendError('BAD_CONFIG', error.message);
    throw error;
  }
  if (parsed.help) return { kind: 'help', text: parsed.text };
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed.values))
    if (value !== undefined) raw[key] = value;
  return { kind: 'run', config: parseConfig(raw) };
}

export function parseConfig(input: BackendConfigInput | Record<string, unknown>): BackendConfig {
  const parsed = BackendConfig.safeParse(input);
  if (!parsed.success) {
    const flags: Record<string, { env: string }> = BACKEND_CLI.flags;
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const flag = flags[key];
      return `${flag ? `--${kebab(key as FlagKey)} / ${flag.env}` : issue.path.join('.')}: ${issue.message}`;
    });
    throw new BackendError(
      'BAD_CONFIG',
      `invalid configuration:\n  ${lines.join('\n  ')}`,
      parsed.error.issues,
    );
  }
  return parsed.data;
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
