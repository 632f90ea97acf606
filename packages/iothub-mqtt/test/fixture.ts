import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MemoryUpdateStore, UpdateService } from '@otaflow/core';
import {
  type AgentStateStore,
  type Commander,
  createCommander,
  createDeviceAgent,
  type DeviceAgent,
  type Installer,
  type ReportOutcome,
} from '../src/index.js';
import {
  ArtifactServer,
  catalogue,
  collectingLogger,
  type ServedFile,
  unique,
  waitFor,
} from './helpers.js';

export interface Fixture {
  tenant: string;
  url: string;
  server: ArtifactServer;
  service: UpdateService;
  store: MemoryUpdateStore;
  commander: Commander;
  outcomes: ReportOutcome[];
  log: ReturnType<typeof collectingLogger>;
  set: Awaited<ReturnType<typeof catalogue>>['set'];
  body: Buffer;
  agents: DeviceAgent[];
  downloadDir: string;
  addAgent(
    deviceId: string,
    installer: Installer,
    stateStore?: AgentStateStore,
  ): Promise<DeviceAgent>;
  close(): Promise<void>;
}

export const okInstaller = (): Installer & { calls: string[] } => {
  const calls: string[] = [];
  return {
    calls,
    async install(ctx) {
      calls.push(
        `${ctx.module.name}@${ctx.module.version}:${ctx.files.map((f) => f.filename).join(',')}`,
      );
      ctx.progress(50, 'half way');
    },
  };
};

export async function fixture(
  url: string,
  options: {
    served?: Partial<ServedFile>;
    body?: Buffer;
    commanderClientId?: string;
    commander?: Partial<Parameters<typeof createCommander>[0]>;
    outbox?: { channels: readonly string[] };
  } = {},
): Promise<Fixture> {
  const tenant = unique('tenant');
  const server = await new ArtifactServer().start();
  const body = options.body ?? Buffer.from('artifact bytes '.repeat(4000));
  const { service, store, set } = await catalogue(
    server,
    body,
    'app',
    options.served,
    options.outbox,
  );
  const log = collectingLogger();
  const commanderOptions: Parameters<typeof createCommander>[0] = {
    url,
    service,
    tenant,
    artifactUrl: (m, a) => `${server.url}/${m.id}/${a.filename}`,
    responseTimeoutMs: 5000,
    logger: log,
    ...options.commander,
  };
  if (options.commanderClientId) commanderOptions.clientId = options.commanderClientId;
  const commander = createCommander(commanderOptions);
  const outcomes: ReportOutcome[] = [];
  commander.onReport((o) => outcomes.push(o));
  await commander.start();
  const downloadDir = await mkdtemp(join(tmpdir(), 'otaflow-dl-'));
  const agents: DeviceAgent[] = [];
  return {
    tenant,
    url,
    server,
    service,
    store,
    commander,
    outcomes,
    log,
    set,
    body,
    agents,
    downloadDir,
    async addAgent(deviceId, installer, stateStore) {
      const agentOptions: Parameters<typeof createDeviceAgent>[0] = {
        url,
        tenant,
        deviceId,
        softwareModuleType: 'application',
        installer,
        downloadDir: join(downloadDir, deviceId),
        mqttOptions: { reconnectPeriod: 200 },
      };
      if (stateStore) agentOptions.stateStore = stateStore;
      const agent = createDeviceAgent(agentOptions);
      agents.push(agent);
      await agent.start();
      await waitFor(
        async () => (await service.getTarget(deviceId))?.channel === 'mqtt',
        `${deviceId} registered`,
      );
      return agent;
    },
    async close() {
      for (const agent of agents) await agent.stop({ force: true });
      await commander.stop();
      await server.stop();
    },
  };
}

export async function settled(service: UpdateService, actionId: number) {
  return waitFor(async () => {
    const action = await service.getAction(actionId);
    return action && !action.active ? action : undefined;
  }, `action ${actionId} to close`);
}
