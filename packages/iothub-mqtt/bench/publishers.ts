/**
 * The simulated devices of the benchmark, in a process of their own so that their publishing work
 * never shares an event loop (or `process.cpuUsage`) with the subscriber being measured. Driven by
 * the parent over IPC; the same payload bytes and the same publishing pattern serve both sides.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { eventTopic, statusPropertyPath, twinModify } from '../src/index.js';
import { correlationOf, type FromPublishers, SEQUENCE, type ToPublishers } from './reports.js';

function payloads(tenant: string, ids: string[]): { topics: string[]; steps: string[][] } {
  const topics = ids.map((deviceId) => eventTopic({ tenant, deviceId, short: true }));
  const steps = SEQUENCE.map((step) => {
    const [status, progress] = step.split(':');
    return ids.map((id, i) => {
      const value: Record<string, unknown> = {
        correlationId: correlationOf(tenant, i),
        status,
        softwareModule: { name: 'app', version: '1.0.0' },
      };
      if (progress !== undefined) value.progress = Number(progress);
      return JSON.stringify(
        twinModify({
          thingId: `otaflow:${id}`,
          path: statusPropertyPath('SoftwareUpdatable', 'lastOperation'),
          value,
          correlationId: `${tenant}-${i}-${step}`,
        }),
      );
    });
  });
  return { topics, steps };
}

// Only when forked by bench/run.ts with the env it sets: tsx itself may give a process an IPC channel.
if (process.send && process.env.OTAFLOW_BENCH_PUBLISHERS === '1') {
  const send = (message: FromPublishers) => process.send?.(message);
  let devices: MqttClient[] = [];
  let ids: string[] = [];
  let run: { topics: string[]; steps: string[][] } | undefined;
  process.on('message', async (message: ToPublishers) => {
    try {
      if (message.type === 'connect') {
        for (let i = 0; i < message.ids.length; i += 100) {
          devices.push(
            ...(await Promise.all(
              message.ids
                .slice(i, i + 100)
                .map((id) => mqtt.connectAsync(message.url, { clientId: `${id}-${process.pid}` })),
            )),
          );
        }
        ids = message.ids;
        send({ type: 'connected' });
      } else if (message.type === 'prepare') {
        run = payloads(message.tenant, ids);
        const bytes = run.steps.flat().reduce((n, p) => n + Buffer.byteLength(p), 0);
        send({ type: 'prepared', bytes });
      } else if (message.type === 'go') {
        const { topics, steps } = run as { topics: string[]; steps: string[][] };
        // Every device publishes its reports in order, QoS 1: rounds of one report per device.
        for (const step of steps) {
          await Promise.all(
            devices.map((d, i) =>
              d.publishAsync(topics[i] as string, step[i] as string, { qos: 1 }),
            ),
          );
        }
        send({ type: 'published' });
      } else if (message.type === 'stop') {
        await Promise.all(devices.map((d) => d.endAsync()));
        devices = [];
        process.disconnect();
      }
    } catch (error) {
      send({ type: 'error', message: (error as Error).message });
    }
  });
}
