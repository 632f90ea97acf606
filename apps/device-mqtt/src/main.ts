import { readFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createLogger,
  describeFailure,
  isLogLevel,
  logLevelFlag,
  progressView,
  runInstallCommand,
  runMain,
  untilAborted,
} from '@otaflow/cli';
import {
  createDeviceAgent,
  type DeviceAgentOptions,
  FileAgentStateStore,
  type Installer,
} from '@otaflow/iothub-mqtt';
import { countingFetch } from './countingFetch.js';

const spec = {
  name: 'otaflow-device-mqtt',
  summary:
    'an example SoftwareUpdatable 2.0.0 device over Hono MQTT topics (plain broker or Bosch IoT Hub)',
  flags: {
    mqttUrl: {
      type: 'string',
      env: 'MQTT_URL',
      default: 'mqtt://127.0.0.1:1883',
      placeholder: 'URL',
      description: 'broker (mqtts://mqtt.bosch-iot-hub.com:8883 for Bosch IoT Hub)',
    },
    tenant: { type: 'string', env: 'HONO_TENANT', default: 'DEFAULT', description: 'Hono tenant' },
    deviceId: {
      type: 'string',
      env: 'DEVICE_ID',
      placeholder: 'ID',
      description: 'device id; with a ":" it is also the Ditto thing id (default: the host name)',
    },
    authId: {
      type: 'string',
      env: 'HONO_AUTH_ID',
      placeholder: 'ID',
      description: 'Hono auth id: login as <auth-id>@<tenant>, authenticated topics',
    },
    password: {
      type: 'string',
      env: 'HONO_PASSWORD',
      placeholder: 'SECRET',
      description: 'password of the auth id',
    },
    caFile: {
      type: 'string',
      env: 'MQTT_CA_FILE',
      placeholder: 'PEM',
      description: 'CA certificate(s) to trust for mqtts:// (default: the system CAs)',
    },
    featureId: {
      type: 'string',
      env: 'SUV2_FEATURE_ID',
      default: 'SoftwareUpdatable',
      description: 'feature id of the SoftwareUpdatable feature',
    },
    moduleType: {
      type: 'string',
      env: 'SUV2_MODULE_TYPE',
      default: 'application',
      description: 'softwareModuleType the device announces',
    },
    reportOn: {
      type: 'string',
      env: 'SUV2_REPORT_ON',
      default: 'event',
      placeholder: 'event|telemetry',
      description: 'Hono channel for status reports',
    },
    stateFile: {
      type: 'string',
      env: 'DEVICE_STATE_FILE',
      placeholder: 'FILE',
      description: 'keep the update in flight here, so a restart resumes it (default: memory only)',
    },
    downloadDir: {
      type: 'string',
      env: 'DEVICE_DOWNLOAD_DIR',
      placeholder: 'DIR',
      description: 'where artifacts go (default: <tmp>/otaflow-device-mqtt-<device id>)',
    },
    installCommand: {
      type: 'string',
      env: 'DEVICE_INSTALL_COMMAND',
      placeholder: 'SHELL',
      description:
        'run by /bin/sh per module with the artifact paths as $1.. and in $OTAFLOW_ARTIFACTS; exit 0 = installed (default: simulate)',
    },
    simulateMs: {
      type: 'number',
      env: 'DEVICE_SIMULATE_MS',
      default: 2000,
      placeholder: 'MS',
      description: 'length of a simulated installation',
    },
    failInstall: {
      type: 'boolean',
      env: 'DEVICE_FAIL_INSTALL',
      default: false,
      description: 'simulated installations fail',
    },
    failDownload: {
      type: 'boolean',
      env: 'DEVICE_FAIL_DOWNLOAD',
      default: false,
      description: 'every artifact download fails (simulation)',
    },
    refuseCancel: {
      type: 'boolean',
      env: 'DEVICE_REFUSE_CANCEL',
      default: false,
      description: 'refuse cancel requests that arrive while installing',
    },
    logLevel: logLevelFlag,
  },
  examples: [
    'otaflow-device-mqtt --tenant DEFAULT --device-id dev-1',
    'otaflow-device-mqtt --mqtt-url mqtts://mqtt.bosch-iot-hub.com:8883 --tenant <tenant id> --device-id com.acme:dev-1 --auth-id dev-1 --password ...',
  ],
} as const;

await runMain(spec, async ({ flags, signal }) => {
  if (flags.reportOn !== 'event' && flags.reportOn !== 'telemetry')
    throw new Error(`--report-on must be event or telemetry, got ${flags.reportOn}`);
  if (flags.password !== undefined && flags.authId === undefined)
    throw new Error('--password needs --auth-id');
  // Hono logins name the device by their auth id (the backend's embedded broker: auth id = device id).
  const deviceId = flags.deviceId ?? flags.authId ?? hostname().replace(/[^A-Za-z0-9._:-]/g, '-');
  const log = createLogger('device-mqtt', {
    level: isLogLevel(flags.logLevel) ? flags.logLevel : 'info',
    fields: { deviceId },
  });
  const view = progressView(log);

  const simulate = async (
    ms: number,
    signal: AbortSignal,
    onStep: (i: number, of: number) => void,
  ) => {
    const steps = 4;
    for (let i = 1; i <= steps; i++) {
      await delay(ms / steps, undefined, { signal });
      onStep(i, steps);
    }
  };

  const installer: Installer = {
    async install(ctx) {
      const paths = ctx.files.map((f) => f.path);
      const label = `${ctx.module.name}:${ctx.module.version}`;
      if (flags.installCommand) {
        log.info({ module: label, files: paths }, 'running install command');
        const result = await runInstallCommand(flags.installCommand, paths, {
          signal: ctx.signal,
          env: {
            OTAFLOW_CORRELATION_ID: ctx.correlationId,
            OTAFLOW_MODULE_NAME: ctx.module.name,
            OTAFLOW_MODULE_VERSION: ctx.module.version,
          },
          onOutput: (line) => log.info({ module: label, line }, 'install output'),
        });
        if (result.code === 0) return { message: 'Install command succeeded.' };
        throw Object.assign(new Error(describeFailure(result)), {
          ...(result.code !== undefined ? { statusCode: result.code } : {}),
        });
      }
      await simulate(flags.simulateMs, ctx.signal, (i, of) => {
        view.update(`install-${ctx.correlationId}-${label}`, 'installing', i, of, {
          module: label,
        });
        if (i < of) ctx.progress((i / of) * 100, `Simulated installation, step ${i} of ${of}.`);
      });
      if (flags.failInstall) throw new Error('Simulated installation failure (--fail-install).');
      return { message: `Simulated installation of ${label}.` };
    },
    cancel: ({ correlationId }) => {
      log.info({ correlationId }, flags.refuseCancel ? 'refusing cancel' : 'accepting cancel');
      return !flags.refuseCancel;
    },
  };
  // Only a simulation knows how an install interrupted by a restart ended; a real command is not
  // re-run blindly, so the agent reports such an update as failed.
  if (!flags.installCommand)
    installer.resume = async ({ module }) => {
      log.info({ module: module.name }, 'resuming an installation interrupted by a restart');
      if (flags.failInstall) throw new Error('Simulated installation failure (--fail-install).');
      return { message: 'Simulated installation completed after a restart.' };
    };

  const options: DeviceAgentOptions = {
    url: flags.mqttUrl,
    tenant: flags.tenant,
    deviceId,
    softwareModuleType: flags.moduleType,
    featureId: flags.featureId,
    reportOn: flags.reportOn,
    installer,
    downloadDir:
      flags.downloadDir ?? join(tmpdir(), `otaflow-device-mqtt-${deviceId.replace(/:/g, '_')}`),
    fetch: countingFetch({
      fail: flags.failDownload,
      onProgress: (url, received, total) =>
        view.update(url, 'downloading', received, total, { url }),
    }),
    logger: log,
    mqttOptions: {
      reconnectPeriod: 1000,
      ...(flags.caFile ? { ca: await readFile(flags.caFile) } : {}),
    },
  };
  if (flags.authId) options.authId = flags.authId;
  if (flags.password !== undefined) options.password = flags.password;
  if (flags.stateFile) options.stateStore = new FileAgentStateStore(flags.stateFile);
  const agent = createDeviceAgent(options);

  log.info(
    {
      url: flags.mqttUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@'),
      tenant: flags.tenant,
      thingId: agent.thingId,
      featureId: agent.featureId,
      installer: flags.installCommand ? 'command' : 'simulation',
    },
    'connecting',
  );
  // The first connection can wait forever on a broker that is down: a signal must still stop it.
  const started = await Promise.race([
    agent.start().then(() => true),
    untilAborted(signal).then(() => false),
  ]);
  if (started) {
    log.info({ current: agent.current?.status }, 'announced');
    await untilAborted(signal);
  }
  view.clear();
  await agent.stop({ force: !started });
  log.info('stopped');
  return 0;
});
