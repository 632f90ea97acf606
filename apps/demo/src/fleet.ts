import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@otaflow/core';
import { DdiClient } from '@otaflow/ddi-http';
import { createHuaweiPlatform, type HuaweiPlatform } from '@otaflow/huawei-webhook/testing';
import { createDeviceAgent, type DeviceAgent } from '@otaflow/iothub-mqtt';
import type { PlannedDevice } from './plan.js';

/** How long a simulated installation takes; short, so the default run stays well under 30 s. */
const INSTALL_MS = 400;

/**
 * The Huawei platform stand-in, started before the backend so that its URL can be handed to the
 * backend's dispatcher. Its devices are the `huawei` ones of the plan; failing ones fail while
 * updating.
 */
export function startHuaweiPlatform(devices: readonly PlannedDevice[]): Promise<HuaweiPlatform> {
  const behaviour: Record<
    string,
    { outcome: 'failure'; failAt: 'updating'; errorCode: string; description: string }
  > = {};
  for (const d of devices)
    if (d.channel === 'huawei' && d.role === 'fail')
      behaviour[d.controllerId] = {
        outcome: 'failure',
        failAt: 'updating',
        errorCode: '7',
        description: 'demo: simulated flash failure',
      };
  return createHuaweiPlatform({
    host: '127.0.0.1',
    port: 0,
    startDelayMs: 200,
    stepDelayMs: 250,
    devices: behaviour,
    delivery: { retryIntervalMs: 200, probeIntervalMs: 1000 },
  });
}

export interface FleetHooks {
  /** A DDI device of role `cancel` saw its deployment and deferred it: time to cancel it. */
  onCancelCandidate(controllerId: string, actionId: string): void;
  /** What the devices log, each line bound to its device (shown with `--verbose`). */
  logger: Logger;
}

export interface RunningFleet {
  stop(): Promise<void>;
}

/** DDI clients (polling every `pollMs`) and SoftwareUpdatable agents, all in this process. */
export async function startDevices(options: {
  devices: readonly PlannedDevice[];
  backendUrl: string;
  mqttUrl: string;
  /** The backend's shared device password (its embedded broker); unset on a broker without logins. */
  mqttPassword?: string | undefined;
  tenant: string;
  workDir: string;
  pollMs: number;
  hooks: FleetHooks;
}): Promise<RunningFleet> {
  const { devices, hooks } = options;
  const ddi: DdiClient[] = [];
  const agents: DeviceAgent[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    for (const device of devices) {
      const downloadDir = join(options.workDir, device.controllerId);
      await mkdir(downloadDir, { recursive: true });
      if (device.channel === 'ddi') {
        const client = new DdiClient({
          baseUrl: options.backendUrl,
          tenant: options.tenant,
          controllerId: device.controllerId,
          downloadDir,
          defaultSleepMs: options.pollMs,
          backoff: { initialMs: 500, maxMs: 2000 },
          installer: {
            async install(job) {
              await job.report(['demo: writing the image'], { cnt: 1, of: 2 });
              await delay(INSTALL_MS);
              if (device.role === 'fail')
                return { success: false, details: ['demo: simulated flash failure'], code: 7 };
              await job.report(['demo: image written'], { cnt: 2, of: 2 });
              return { success: true, details: ['demo: installed'] };
            },
          },
          confirm: () => ({ confirmed: true, details: ['demo: the operator said yes'] }),
          onCancel: () => true,
          ...(device.role === 'cancel'
            ? {
                acceptAttempt: (actionId: string) => {
                  hooks.onCancelCandidate(device.controllerId, actionId);
                  return false;
                },
              }
            : {}),
          configData: () => ({ data: { demo: 'true', channel: 'ddi' } }),
          logger: hooks.logger.child({ device: device.controllerId }),
        });
        ddi.push(client);
        client.start();
        stops.push(() => client.close());
      } else if (device.channel === 'mqtt') {
        const agent = createDeviceAgent({
          url: options.mqttUrl,
          tenant: options.tenant,
          deviceId: device.controllerId,
          ...(options.mqttPassword === undefined
            ? {}
            : {
                authId: device.controllerId,
                password: options.mqttPassword,
                // Works on the embedded broker and on a plain one alike.
                topicForm: 'explicit' as const,
              }),
          softwareModuleType: 'os',
          downloadDir,
          logger: hooks.logger.child({ device: device.controllerId }),
          installer: {
            async install({ progress, signal }) {
              progress(50, 'demo: writing the image');
              await delay(INSTALL_MS, undefined, { signal });
              if (device.role === 'fail')
                throw Object.assign(new Error('demo: simulated flash failure'), { statusCode: 7 });
              return { status: 'FINISHED_SUCCESS', message: 'demo: installed' };
            },
          },
        });
        agents.push(agent);
        await agent.start();
        stops.push(() => agent.stop({ force: true }));
      }
    }
  } catch (error) {
    await Promise.allSettled(stops.map((stop) => stop()));
    throw error;
  }
  return {
    async stop() {
      await Promise.allSettled(stops.map((stop) => stop()));
    },
  };
}

export type { HuaweiPlatform };
