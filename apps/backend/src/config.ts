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
  /**
   * Where state is kept: PGlite's database and the artifact blobs (`otaflow-backend` defaults it,
   * `defaultDataDir()`); with `store: memory`, only artifacts, in a temporary directory when unset.
   */
  dataDir: z.string().min(1).optional(),
  /** A PostgreSQL server for the state; the embedded PGlite in `dataDir` when unset. */
  databaseUrl: Url(['postgres:', 'postgresql:']).optional(),
  /** `memory` keeps targets and actions in this process only (benchmarks, tests). */
  store: z.enum(['database', 'memory']).default('database'),
  /** Targets whose poll reads are kept in memory in front of the database; 0 turns it off. */
  pollCacheEntries: z.coerce.number().int().nonnegative().default(50_000),
  /** How often rollouts are evaluated, in ms (hawkBit's scheduler: 2000). */
  rolloutInterval: z.coerce.number().int().positive().default(2000),
  /** hawkBit's tenant key `rollout.approval.enabled`: new rollouts wait for approval. */
  rolloutApproval: Flag.default(false),
  mqttUrl: Url(['mqtt:', 'mqtts:', 'ws:', 'wss:']).optional(),
  /** Embedded broker: a password any device may log in with (and so register itself); unset = none. */
  mqttDevicePassword: z.string().min(1).optional(),
  /** The commander's MQTT client id; several backends on one broker need one each. */
  mqttClientId: z.string().min(1).max(128).optional(),
  /** MQTT 5 shared-subscription group of the commanders of several backends on one broker. */
  mqttSharedGroup: z
    .string()
    .regex(/^[^/+#]{1,64}$/, 'mqtt shared group: no /, + or #')
    .optional(),
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
  /** DDI plug-and-play registrations one client address may make at once. */
  ddiRegistrationBurst: z.coerce.number().int().positive().default(100),
  /** DDI plug-and-play registrations per second a client earns back; 0 turns the limit off. */
  ddiRegistrationRate: z.coerce.number().nonnegative().default(10),
  /** SIE exchange and queue names (unique ones let parallel runs share a broker). */
  sieExchange: z.string().min(1).max(255).default('sievent.exchange'),
  sieQueue: z.string().min(1).max(255).default('sievent_queue'),
  /** SIE messages that may wait for the broker before events are refused (BUFFER_FULL). */
  sieBuffer: z.coerce.number().int().positive().default(100_000),
  /** A request's headers must be in within this (ms); also ends connections that send nothing. */
  httpHeadersTimeoutMs: z.coerce.number().int().positive().default(10_000),
  /** A whole request, body included, must be in within this (ms); it bounds upload time too. */
  httpRequestTimeoutMs: z.coerce.number().int().positive().default(600_000),
  /** No byte either way for this long (ms) ends the connection; a stalled body gets 408. */
  httpBodyTimeoutMs: z.coerce.number().int().positive().default(30_000),
  /** A keep-alive connection with no request for this long (ms) is closed. */
  httpIdleTimeoutMs: z.coerce.number().int().positive().default(5_000),
  /** Open HTTP connections at most; more are closed at once. Keep it under `ulimit -n`. */
  httpMaxConnections: z.coerce.number().int().positive().default(10_000),
  /** HMAC key of signed `/artifacts/` links; random per start when unset. */
  downloadSecret: z.string().min(16, 'at least 16 characters').optional(),
  /** How long a signed `/artifacts/` link stays valid, in seconds. */
  downloadUrlTtl: z.coerce.number().int().positive().default(86_400),
  /** Base of every absolute URL the server hands out (HAL links, DDI download links). */
  publicUrl: Url(['http:', 'https:']).optional(),
  /** Huawei platform (or its stand-in) to create upgrade tasks on for `huawei` targets. */
  huaweiPlatformUrl: Url(['http:', 'https:']).optional(),
  huaweiAppId: z.string().min(1).default('otaflow-app'),
  huaweiSecret: z.string().min(1).default('otaflow-secret'),
  /**
   * Shared secret the Huawei receiver requires in its callback URL (`?secret=`); the dispatcher
   * subscribes with it. A random one is generated at start when unset.
   */
  huaweiCallbackSecret: z
    .string()
    .min(16, 'at least 16 characters')
    .max(256)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional(),
  /** Largest accepted artifact upload, in bytes (hawkBit: 1 GiB). */
  maxArtifactBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024 * 1024),
  /** Wrong Management API passwords a client address may send before it gets 429 (0: no limit). */
  mgmtAuthFailures: z.coerce.number().int().nonnegative().default(10),
  /** Seconds in which that allowance of wrong passwords grows back. */
  mgmtAuthWindow: z.coerce.number().int().positive().default(60),
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
      description:
        'embedded database (PGlite) and artifacts (default $XDG_DATA_HOME/otaflow or ~/.local/share/otaflow)',
    },
    databaseUrl: {
      type: 'string',
      env: 'DATABASE_URL',
      placeholder: 'url',
      description:
        'PostgreSQL server, postgres://user:password@host:5432/db (default: embedded PGlite in the data dir)',
    },
    store: {
      type: 'string',
      env: 'STORE',
      placeholder: 'kind',
      description: 'database | memory (memory: nothing survives a restart; default database)',
    },
    rolloutInterval: {
      type: 'number',
      env: 'ROLLOUT_INTERVAL',
      placeholder: 'ms',
      description: 'how often rollouts are evaluated (default 2000, as hawkBit)',
    },
    rolloutApproval: {
      type: 'boolean',
      env: 'ROLLOUT_APPROVAL',
      description: "new rollouts wait for approval (hawkBit's rollout.approval.enabled)",
    },
    pollCacheEntries: {
      type: 'number',
      env: 'POLL_CACHE_ENTRIES',
      placeholder: 'n',
      description:
        'targets whose poll reads stay in memory in front of the database, kept right by its change notifications (default 50000; 0: off)',
    },
    mqttUrl: {
      type: 'string',
      env: 'MQTT_URL',
      placeholder: 'url',
      description: 'MQTT broker for the IoT Hub commander (default: embedded broker)',
    },
    mqttDevicePassword: {
      type: 'string',
      env: 'MQTT_DEVICE_PASSWORD',
      placeholder: 'secret',
      description:
        'embedded broker: shared password of <device-id>@<tenant> logins, lets new devices register (default: none, each target its security token)',
    },
    mqttClientId: {
      type: 'string',
      env: 'MQTT_CLIENT_ID',
      placeholder: 'id',
      description:
        "the commander's MQTT client id (default otaflow-commander-<tenant>); one per backend on a shared broker",
    },
    mqttSharedGroup: {
      type: 'string',
      env: 'MQTT_SHARED_GROUP',
      placeholder: 'group',
      description:
        'several backends on one MQTT 5 broker: the shared-subscription group that spreads device reports over their commanders (default: none, every report to this one)',
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
    ddiRegistrationBurst: {
      type: 'string',
      env: 'DDI_REGISTRATION_BURST',
      placeholder: 'n',
      description: 'new DDI targets one client address may register at once (default 100)',
    },
    ddiRegistrationRate: {
      type: 'string',
      env: 'DDI_REGISTRATION_RATE',
      placeholder: 'n',
      description:
        'new DDI targets per second per client address, past the burst; 0 = no limit (default 10)',
    },
    httpHeadersTimeoutMs: {
      type: 'string',
      env: 'HTTP_HEADERS_TIMEOUT_MS',
      placeholder: 'ms',
      description:
        'request headers must arrive within this; idle new connections are closed (default 10000)',
    },
    httpRequestTimeoutMs: {
      type: 'string',
      env: 'HTTP_REQUEST_TIMEOUT_MS',
      placeholder: 'ms',
      description:
        'a whole request, body and uploads included, must arrive within this (default 600000)',
    },
    httpBodyTimeoutMs: {
      type: 'string',
      env: 'HTTP_BODY_TIMEOUT_MS',
      placeholder: 'ms',
      description:
        'a connection silent this long is closed; a stalled body gets 408 (default 30000)',
    },
    httpIdleTimeoutMs: {
      type: 'string',
      env: 'HTTP_IDLE_TIMEOUT_MS',
      placeholder: 'ms',
      description: 'keep-alive connections without a request are closed after this (default 5000)',
    },
    httpMaxConnections: {
      type: 'string',
      env: 'HTTP_MAX_CONNECTIONS',
      placeholder: 'n',
      description: 'open HTTP connections at most; keep it under ulimit -n (default 10000)',
    },
    downloadSecret: {
      type: 'string',
      env: 'DOWNLOAD_SECRET',
      placeholder: 'secret',
      description:
        'HMAC key of signed /artifacts/ links, shared by all backends (default: random per start)',
    },
    downloadUrlTtl: {
      type: 'string',
      env: 'DOWNLOAD_URL_TTL',
      placeholder: 'seconds',
      description: 'how long signed /artifacts/ links stay valid (default 86400)',
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
    huaweiCallbackSecret: {
      type: 'string',
      env: 'HUAWEI_CALLBACK_SECRET',
      placeholder: 'secret',
      description: 'secret the Huawei receiver requires in its callback URL (default: random)',
    },
    maxArtifactBytes: {
      type: 'string',
      env: 'MAX_ARTIFACT_BYTES',
      placeholder: 'n',
      description: 'largest artifact upload in bytes (default 1 GiB)',
    },
    mgmtAuthFailures: {
      type: 'string',
      env: 'MGMT_AUTH_FAILURES',
      placeholder: 'n',
      description: 'wrong Management API passwords per address before 429 (default 10; 0 = off)',
    },
    mgmtAuthWindow: {
      type: 'string',
      env: 'MGMT_AUTH_WINDOW',
      placeholder: 'seconds',
      description: 'seconds in which that allowance of wrong passwords grows back (default 60)',
    },
  },
  examples: [
    'otaflow-backend --port 0 --inspect',
    'MQTT_URL=mqtt://127.0.0.1:1883 AMQP_URL=amqp://guest:guest@127.0.0.1:5672 otaflow-backend',
    'Flags win over environment variables. Endpoints: /rest/v1 (Management API, basic auth),',
    '/{tenant}/controller/v1 (DDI), /v1.0.0/messageReceiver (Huawei receiver),',
    '/artifacts/{moduleId}/{filename} (downloads: credentials or a signed link), /livez, /readyz.',
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
