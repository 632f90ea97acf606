import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { type Logger, UpdateService, type UpdateStore } from '@otaflow/core';
import { createDdiServer, type DdiAuthOptions, type DdiServerOptions } from '@otaflow/ddi-http';
import { ArtifactStore } from '../ArtifactStore.js';
import type { BackendConfig } from '../config.js';
import { createDownloadSigner, type DownloadSigner } from '../downloadSigner.js';
import {
  createEventStream,
  type EventStream,
  type EventStreamOptions,
} from '../events/createEventStream.js';
import type { HttpHandler } from '../http.js';
import type { Inspection } from '../inspection.js';
import { createTenantApi } from '../management/createManagementApi.js';
import type { TenantApi } from '../management/ManagementContext.js';
import { DEFAULT_QUOTAS } from '../management/quotas.js';
import { requireAssignableSet } from '../management/requests.js';
import { compatibleTargets } from '../management/typeCatalogue.js';
import { outboxChannelsOf } from '../outbox/outboxChannelsOf.js';
import type { OutboxChannel } from '../outbox/startRelays.js';
import { RolloutEngine } from '../rollouts/RolloutEngine.js';
import { TenantSettings, type TenantValues } from './TenantSettings.js';

/** Everything one tenant has in a backend: its store and service and what works over them. */
export interface TenantRuntime {
  readonly tenant: string;
  readonly store: UpdateStore;
  readonly service: UpdateService;
  readonly settings: TenantSettings;
  readonly rollouts: RolloutEngine;
  readonly artifacts: ArtifactStore;
  readonly api: TenantApi;
  readonly events: EventStream;
  /** The tenant's DDI (`/{tenant}/controller/v1`); its auth follows the tenant's configuration. */
  readonly ddi: HttpHandler;
  readonly signer: DownloadSigner;
  /** The outbox channels the service writes; undefined: events go to in-process listeners only. */
  readonly channels: readonly OutboxChannel[] | undefined;
  /** How DDI and unsigned downloads let devices in now. */
  ddiAuth(): DdiAuthOptions;
  /** Stops the tenant's background work and flushes its poll times; the store stays open. */
  close(): Promise<void>;
}

export interface TenantRuntimeParts {
  tenant: string;
  store: UpdateStore;
  config: BackendConfig;
  logger: Logger;
  /** Where the tenant's artifact bytes go; a temporary directory when unset. */
  artifactsDir: string | undefined;
  /** The key of signed download links; the tenant's own is derived from it. */
  downloadSecret: string;
  /** The default tenant keeps the links and directory it always had. */
  isDefault: boolean;
  inspection?: Inspection;
  events?: Pick<EventStreamOptions, 'capacity' | 'maxPending' | 'heartbeatMs'>;
  /** How often the tenant's configuration is reread besides its notifications (default 1 s). */
  settingsRefreshMs?: number;
  /** Tells of configuration changes other backends commit (`openBackendStore`'s). */
  onConfigurationChange?: (tenant: string, listener: () => void) => () => void;
  /** SIE, commands and Huawei tasks through the store's outbox (default: when it keeps one). */
  outbox?: boolean;
  /** Replaces the DDI handler (tests, embedders). */
  ddi?: (context: {
    service: UpdateService;
    artifacts: ArtifactStore;
    logger: Logger;
  }) => HttpHandler;
}

/** The process's flags as the global values of every tenant's configuration keys. */
export function globalTenantValues(config: BackendConfig): TenantValues {
  return {
    'authentication.targettoken.enabled': config.targetTokenAuth,
    'authentication.gatewaytoken.enabled': config.gatewayToken !== undefined,
    'authentication.gatewaytoken.key': config.gatewayToken ?? '',
    pollingTime: config.ddiPollingSleep,
    pollingOverdueTime: config.ddiPollingSleep,
    'rollout.approval.enabled': config.rolloutApproval,
    'user.confirmation.flow.enabled': false,
  };
}

/**
 * How DDI lets devices in, from the tenant's keys. Anonymous exactly when neither token kind is
 * on; `/artifacts/` then serves unsigned downloads too, since any caller could fetch the same
 * bytes over DDI.
 */
export function ddiAuthOf(values: TenantValues): DdiAuthOptions {
  const key = values['authentication.gatewaytoken.key'];
  const gateway = values['authentication.gatewaytoken.enabled'] && key !== '';
  const auth: DdiAuthOptions = {
    targetToken: values['authentication.targettoken.enabled'],
    anonymous: !values['authentication.targettoken.enabled'] && !gateway,
  };
  if (gateway) auth.gatewayToken = key;
  return auth;
}

/** Another tenant's artifacts: beside the default tenant's directory, never inside it. */
export function tenantArtifactsDir(
  defaultDir: string | undefined,
  tenant: string,
): string | undefined {
  return defaultDir === undefined
    ? undefined
    : join(dirname(defaultDir), 'tenants', tenant, 'artifacts');
}

export async function startTenantRuntime(parts: TenantRuntimeParts): Promise<TenantRuntime> {
  const { tenant, store, config, isDefault } = parts;
  const logger = parts.logger.child({ tenant });
  const closers: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        logger.warn({ err: error }, 'closing the tenant failed');
      }
    }
  };
  try {
    // The Huawei platform's devices are the default tenant's: no channel the others never read.
    const channels = outboxChannelsOf(
      {
        amqpUrl: config.amqpUrl,
        huaweiPlatformUrl: isDefault ? config.huaweiPlatformUrl : undefined,
      },
      store,
      parts.outbox,
    );
    const service = new UpdateService({
      store,
      ...(channels ? { outbox: { channels } } : {}),
      onListenerError: (error, event) =>
        logger.warn({ event: event.type, err: error }, 'domain event listener failed'),
      onContactFlushError: (error) =>
        logger.warn({ err: error }, 'writing poll times failed; they are kept for the next try'),
      ...(parts.inspection ? { onTransition: parts.inspection.onTransition } : {}),
    });
    closers.push(() => service.flushContacts());
    // Only at debug level: a listener makes the service build every event for every report.
    if (config.logLevel === 'debug')
      service.onEvent((event) => logger.debug({ event }, 'domain event'));

    const settings = new TenantSettings(store, globalTenantValues(config), logger, () =>
      service.now(),
    );
    await settings.start(parts.settingsRefreshMs);
    closers.push(() => settings.close());
    // Another backend's change arrives at once by its notification, else by the periodic reread.
    const unwatch = parts.onConfigurationChange?.(tenant, () => {
      settings
        .refresh()
        .catch((error) => logger.warn({ err: error }, 'rereading the tenant configuration failed'));
    });
    if (unwatch)
      closers.push(() => {
        unwatch();
      });

    // Rollouts are evaluated by one backend at a time (a lease in the tenant's store), on an
    // interval and soon after a rollout's action ends.
    const rollouts = new RolloutEngine({
      service,
      logger: logger.child({ component: 'rollouts' }),
      intervalMs: config.rolloutInterval,
      approvalEnabled: () => settings.get('rollout.approval.enabled'),
      confirmationFlow: () => settings.get('user.confirmation.flow.enabled'),
      assignable: (set) => requireAssignableSet(service, set),
      compatible: (set) => compatibleTargets(service, set),
    });
    rollouts.start();
    closers.push(() => rollouts.close());

    // The catalogue in the store says which artifacts exist; the directory holds only bytes.
    const artifacts = await ArtifactStore.open(parts.artifactsDir, { catalogue: store });
    closers.push(() => artifacts.close());
    const swept = await artifacts.sweep();
    if (swept.staged + swept.orphans > 0)
      logger.info(swept, 'removed unfinished uploads and artifacts no module names');

    const api = createTenantApi({
      service,
      artifacts,
      tenant,
      settings,
      maxArtifactBytes: config.maxArtifactBytes,
      logger: logger.child({ component: 'mgmt' }),
      quotas: DEFAULT_QUOTAS,
      rollouts,
    });

    const events = createEventStream({ ...parts.events, service, tenant });
    closers.push(() => events.close());

    const ddiLogger = logger.child({ component: 'ddi' });
    let ddi: HttpHandler;
    if (parts.ddi) ddi = parts.ddi({ service, artifacts, logger: ddiLogger });
    else {
      const options: DdiServerOptions = {
        service,
        tenant,
        artifacts,
        auth: ddiAuthOf(settings.values),
        autoRegister: true,
        pollingSleep: settings.get('pollingTime'),
        registrationLimit:
          config.ddiRegistrationRate > 0
            ? { burst: config.ddiRegistrationBurst, perSecond: config.ddiRegistrationRate }
            : false,
        logger: ddiLogger,
      };
      if (config.publicUrl !== undefined) options.publicBaseUrl = config.publicUrl;
      const server = createDdiServer(options);
      const unsubscribe = settings.onChange((values) =>
        server.configure({ auth: ddiAuthOf(values), pollingSleep: values.pollingTime }),
      );
      closers.push(() => {
        unsubscribe();
      });
      ddi = server;
    }
    if (ddiAuthOf(settings.values).anonymous)
      logger.warn(
        'DDI and /artifacts/ downloads need no credentials: set --target-token-auth or --gateway-token, or the tenant keys authentication.*',
      );

    // Each tenant's links are signed with its own key, so one tenant's link opens nothing of another.
    const signer = createDownloadSigner({
      ttlSeconds: config.downloadUrlTtl,
      secret: isDefault
        ? parts.downloadSecret
        : createHash('sha256').update(`${parts.downloadSecret}\n${tenant}`).digest('base64url'),
    });

    return {
      tenant,
      store,
      service,
      settings,
      rollouts,
      artifacts,
      api,
      events,
      ddi,
      signer,
      channels,
      ddiAuth: () => ddiAuthOf(settings.values),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
