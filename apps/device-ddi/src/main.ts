import { mkdir } from 'node:fs/promises';
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
} from '@otaflow/cli';
import {
  DdiClient,
  type DdiConfirmDecision,
  type DdiInstaller,
  type DdiPollOutcome,
} from '@otaflow/ddi-http';
import { askYesNo } from './askYesNo.js';

const spec = {
  name: 'otaflow-device-ddi',
  summary:
    'an example device that polls a DDI server (otaflow, Eclipse hawkBit, Bosch IoT Rollouts), downloads, installs and reports',
  flags: {
    url: {
      type: 'string',
      env: 'DDI_URL',
      default: 'http://127.0.0.1:8080',
      placeholder: 'URL',
      description: 'scheme, host and port of the DDI server',
    },
    tenant: { type: 'string', env: 'DDI_TENANT', default: 'DEFAULT', description: 'tenant' },
    controllerId: {
      type: 'string',
      env: 'DDI_CONTROLLER_ID',
      placeholder: 'ID',
      description: 'controller id (default: the host name)',
    },
    targetToken: {
      type: 'string',
      env: 'DDI_TARGET_TOKEN',
      placeholder: 'TOKEN',
      description: "the target's security token (Authorization: TargetToken)",
    },
    gatewayToken: {
      type: 'string',
      env: 'DDI_GATEWAY_TOKEN',
      placeholder: 'TOKEN',
      description: "the tenant's gateway token (Authorization: GatewayToken)",
    },
    downloadDir: {
      type: 'string',
      env: 'DDI_DOWNLOAD_DIR',
      placeholder: 'DIR',
      description: 'where artifacts go (default: <tmp>/otaflow-device-ddi-<controller id>)',
    },
    installCommand: {
      type: 'string',
      env: 'DDI_INSTALL_COMMAND',
      placeholder: 'SHELL',
      description:
        'run by /bin/sh with the artifact paths as $1.. and in $OTAFLOW_ARTIFACTS; exit 0 = installed (default: simulate)',
    },
    simulateMs: {
      type: 'number',
      env: 'DDI_SIMULATE_MS',
      default: 2000,
      placeholder: 'MS',
      description: 'length of a simulated installation',
    },
    failInstall: {
      type: 'boolean',
      env: 'DDI_FAIL_INSTALL',
      default: false,
      description: 'simulated installations fail',
    },
    failDownload: {
      type: 'boolean',
      env: 'DDI_FAIL_DOWNLOAD',
      default: false,
      description: 'report every download as failed (simulation)',
    },
    confirm: {
      type: 'string',
      env: 'DDI_CONFIRM',
      default: 'auto',
      placeholder: 'auto|deny|prompt',
      description: 'answer to consent requests; prompt asks on the terminal (deny without one)',
    },
    refuseCancel: {
      type: 'boolean',
      env: 'DDI_REFUSE_CANCEL',
      default: false,
      description: 'refuse cancel requests',
    },
    pollMs: {
      type: 'number',
      env: 'DDI_POLL_MS',
      default: 0,
      placeholder: 'MS',
      description: "poll this often instead of the server's sleep (0: the server's)",
    },
    once: {
      type: 'boolean',
      env: 'DDI_ONCE',
      default: false,
      description: 'run one polling cycle and exit (1 when it or the update failed)',
    },
    logLevel: logLevelFlag,
  },
  examples: [
    'otaflow-device-ddi --url http://127.0.0.1:8080 --controller-id dev-1 --gateway-token secret',
    'otaflow-device-ddi --install-command \'swupdate -i "$1"\' --confirm prompt',
    'DDI_URL=https://device.eu1.bosch-iot-rollouts.com DDI_TENANT=<tenant id> DDI_TARGET_TOKEN=... otaflow-device-ddi',
  ],
} as const;

const CONFIRM_MODES = ['auto', 'deny', 'prompt'] as const;
type ConfirmMode = (typeof CONFIRM_MODES)[number];
const FAILED_KINDS = new Set<DdiPollOutcome['kind']>(['failed']);

await runMain(spec, async ({ flags, signal }) => {
  if (!CONFIRM_MODES.includes(flags.confirm as ConfirmMode))
    throw new Error(`--confirm must be auto, deny or prompt, got ${flags.confirm}`);
  const confirmMode = flags.confirm as ConfirmMode;
  const controllerId = flags.controllerId ?? hostname().replace(/[^A-Za-z0-9._-]/g, '-');
  const log = createLogger('device-ddi', {
    level: isLogLevel(flags.logLevel) ? flags.logLevel : 'info',
    fields: { controllerId },
  });
  const downloadDir = flags.downloadDir ?? join(tmpdir(), `otaflow-device-ddi-${controllerId}`);
  await mkdir(downloadDir, { recursive: true });
  const view = progressView(log);

  const installer: DdiInstaller = {
    async install(job) {
      const paths = job.files.map((f) => f.path);
      if (flags.installCommand) {
        log.info({ actionId: job.actionId, files: paths }, 'running install command');
        const result = await runInstallCommand(flags.installCommand, paths, {
          signal: job.signal,
          env: { OTAFLOW_ACTION_ID: job.actionId, OTAFLOW_CONTROLLER_ID: controllerId },
          onOutput: (line) => log.info({ actionId: job.actionId, line }, 'install output'),
        });
        if (result.code === 0) return { success: true, details: ['Install command succeeded.'] };
        return {
          success: false,
          details: [describeFailure(result)],
          ...(result.code !== undefined ? { code: result.code } : {}),
        };
      }
      const steps = 4;
      for (let i = 1; i <= steps; i++) {
        await delay(flags.simulateMs / steps, undefined, { signal: job.signal });
        view.update(`install-${job.actionId}`, 'installing', i, steps, { actionId: job.actionId });
        if (i < steps)
          await job.report([`Simulated installation, step ${i} of ${steps}.`], {
            cnt: i,
            of: steps,
          });
      }
      if (flags.failInstall)
        return { success: false, details: ['Simulated installation failure (--fail-install).'] };
      return { success: true, details: [`Simulated installation of ${paths.length} file(s).`] };
    },
  };

  const confirm = async (action: { id: string }): Promise<DdiConfirmDecision> => {
    if (confirmMode === 'auto')
      return { confirmed: true, details: ['Confirmed by the device (auto).'] };
    if (confirmMode === 'deny')
      return { confirmed: false, details: ['Denied by the device (--confirm deny).'] };
    const answer = await askYesNo(`Install the update of action ${action.id}?`, signal);
    if (answer === undefined) {
      log.warn({ actionId: action.id }, 'no terminal to ask on: denying');
      return { confirmed: false, details: ['Denied: no terminal to ask the user.'] };
    }
    return answer
      ? { confirmed: true, details: ['Confirmed by the user.'] }
      : { confirmed: false, details: ['Denied by the user.'] };
  };

  const client = new DdiClient({
    baseUrl: flags.url,
    tenant: flags.tenant,
    controllerId,
    ...(flags.targetToken ? { targetToken: flags.targetToken } : {}),
    ...(flags.gatewayToken ? { gatewayToken: flags.gatewayToken } : {}),
    downloadDir,
    installer,
    confirm,
    onCancel: (actionId) => {
      log.info({ actionId }, flags.refuseCancel ? 'refusing cancel' : 'accepting cancel');
      return !flags.refuseCancel;
    },
    onProgress: (e) => {
      if (e.phase === 'download')
        view.update(`${e.actionId}/${e.filename}`, 'downloading', e.received, e.total, {
          actionId: e.actionId,
          file: e.filename,
        });
      else if (e.phase === 'finished')
        log[e.success ? 'info' : 'warn'](
          { actionId: e.actionId },
          e.success ? 'update installed' : 'update failed',
        );
      else log.info({ actionId: e.actionId }, e.phase);
    },
    logger: log,
  });

  /**
   * `--fail-download`: the client downloads on its own, so the failure is simulated here instead:
   * a deployment is answered with `download`, then `closed`/`failure` before any byte is fetched.
   */
  const cycle = async (): Promise<DdiPollOutcome> => {
    if (flags.failDownload) {
      const base = await client.getControllerBase();
      const links = base._links ?? {};
      if (links.deploymentBase && !links.cancelAction && !links.confirmationBase) {
        const deployment = await client.getDeploymentBase(links.deploymentBase.href);
        const feedbackUrl = `${links.deploymentBase.href.split('?')[0]}/feedback`;
        await client.sendFeedback(deployment.id, 'download', 'none', {
          details: ['Downloading.'],
          feedbackUrl,
        });
        await client.sendFeedback(deployment.id, 'closed', 'failure', {
          details: ['Download failed: simulated by --fail-download.'],
          feedbackUrl,
        });
        log.warn(
          { actionId: deployment.id, reason: 'simulated download failure' },
          'update failed',
        );
        return { kind: 'failed', actionId: deployment.id, sleepMs: 0 };
      }
    }
    return client.pollOnce();
  };

  // A signal must also stop a download or install in flight, not only the sleep between polls.
  signal.addEventListener('abort', () => void client.stop(), { once: true });

  log.info(
    {
      url: flags.url,
      tenant: flags.tenant,
      downloadDir,
      installer: flags.installCommand ? 'command' : 'simulation',
      confirm: confirmMode,
    },
    'polling',
  );

  if (flags.once) {
    try {
      const outcome = await cycle();
      log.info({ ...outcome }, 'cycle done');
      return FAILED_KINDS.has(outcome.kind) ? 1 : 0;
    } catch (error) {
      log.error({ err: error }, 'poll failed');
      return 1;
    } finally {
      view.clear();
      await client.close();
    }
  }

  let failures = 0;
  while (!signal.aborted) {
    let wait: number;
    try {
      const outcome = await cycle();
      failures = 0;
      if (outcome.kind !== 'idle') log.debug({ ...outcome }, 'cycle done');
      wait = flags.pollMs > 0 ? flags.pollMs : outcome.sleepMs;
    } catch (error) {
      if (signal.aborted) break;
      failures++;
      // Back off like the client's own loop would: 1 s doubling up to 5 min.
      wait = Math.min(300_000, 1000 * 2 ** Math.min(failures - 1, 20));
      if (flags.pollMs > 0) wait = Math.max(flags.pollMs, Math.min(wait, 10 * flags.pollMs));
      log.warn({ err: error, failures, retryInMs: wait }, 'poll failed');
    }
    await delay(wait, undefined, { signal }).catch(() => undefined);
  }
  view.clear();
  await client.close();
  log.info('stopped');
  return 0;
});
