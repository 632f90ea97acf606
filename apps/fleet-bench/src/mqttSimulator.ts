// SoftwareUpdatable 2.0.0 devices, one MQTT connection each, all in this process: the real
// `DeviceAgent` of @otaflow/iothub-mqtt (it downloads over HTTP and reports every step), with
// an installer that succeeds at once so the figures measure the server, not a simulated flash.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createDeviceAgent, type DeviceAgent } from '@otaflow/iothub-mqtt';
import mqtt from 'mqtt';
import { MqttSimConfig, type SimCommand, type SimWindow } from './protocol.js';
import { serveSimCommands } from './simChild.js';

const agents: DeviceAgent[] = [];
let registered = 0;
let completed = 0;
let reports = 0;
let errors = 0;
let windowStart = performance.now();
let windowReports = 0;
let windowCompleted = 0;
const lastErrors: string[] = [];
let downloadDir = '';

function startAgent(c: ReturnType<typeof MqttSimConfig.parse>, deviceId: string): Promise<void> {
  const client = mqtt.connect(c.mqttUrl, {
    clientId: `${deviceId}-${process.pid}`,
    clean: true,
    resubscribe: false,
    reconnectPeriod: 1000,
    keepalive: 120,
  });
  // Count what the agent says, without touching the agent: every lastOperation twin modify is one
  // report; FINISHED_SUCCESS ends its update.
  const publish = client.publish.bind(client) as (...args: unknown[]) => mqtt.MqttClient;
  (client as unknown as { publish: (...args: unknown[]) => mqtt.MqttClient }).publish = (
    ...args: unknown[]
  ) => {
    const payload = String(args[1]);
    if (payload.includes('/status/lastOperation')) {
      reports++;
      windowReports++;
      if (payload.includes('"FINISHED_SUCCESS"')) {
        completed++;
        windowCompleted++;
      } else if (payload.includes('"FINISHED_ERROR"')) {
        errors++;
        // The agent's own words say why: keep the status message, not the envelope's headers.
        const message = /"message":"((?:[^"\\]|\\.)*)"/.exec(payload)?.[1] ?? payload.slice(0, 200);
        lastErrors.push(`${deviceId}: FINISHED_ERROR ${message}`);
        if (lastErrors.length > 10) lastErrors.shift();
      }
    }
    return publish(...args);
  };
  const agent = createDeviceAgent({
    client,
    tenant: c.tenant,
    deviceId,
    softwareModuleType: 'os',
    downloadDir: join(downloadDir, deviceId),
    progressStep: 100,
    installer: { install: async () => ({ status: 'FINISHED_SUCCESS' }) },
  });
  agents.push(agent);
  return agent.start().then(() => {
    registered++;
  });
}

const server = serveSimCommands(
  async (cmd: SimCommand) => {
    switch (cmd.cmd) {
      case 'start': {
        const c = MqttSimConfig.parse(cmd.config);
        server.setDeadline(c.maxRunMs);
        downloadDir = c.downloadDir;
        await mkdir(downloadDir, { recursive: true });
        const ids = Array.from(
          { length: c.count },
          (_, i) => `${c.prefix}${String(i).padStart(5, '0')}`,
        );
        // A bounded number of CONNECTs in flight, so the broker and the backend's commander are
        // not hit by thousands of sessions in one tick.
        let next = 0;
        await Promise.all(
          Array.from({ length: Math.min(c.connectConcurrency, ids.length) }, async () => {
            while (next < ids.length) {
              const id = ids[next++] as string;
              await startAgent(c, id).catch((error: Error) => {
                errors++;
                lastErrors.push(`${id}: ${error.message}`);
              });
            }
          }),
        );
        windowStart = performance.now();
        return undefined;
      }
      case 'window': {
        const now = performance.now();
        const out: SimWindow = {
          seconds: (now - windowStart) / 1000,
          requests: 0,
          reports: windowReports,
          errors,
          completed: windowCompleted,
          latency: {},
          lastErrors: [...lastErrors],
        };
        windowStart = now;
        windowReports = windowCompleted = 0;
        return out;
      }
      default:
        return undefined;
    }
  },
  () => ({ registered, completed, requests: 0, reports, errors }),
  async () => {
    await Promise.allSettled(agents.map((a) => a.stop({ force: true })));
    if (downloadDir) await rm(downloadDir, { recursive: true, force: true });
  },
);
