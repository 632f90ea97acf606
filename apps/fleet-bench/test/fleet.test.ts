import { describe, expect, it } from 'vitest';
import { brokerReachable, runFleet } from '../src/index.js';

const MQTT_URL = 'mqtt://127.0.0.1:1883';
const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const brokers = (await brokerReachable(MQTT_URL)) && (await brokerReachable(AMQP_URL));
if (!brokers) {
  if (process.env.CI === 'true')
    throw new Error(
      'CI=true: Mosquitto (127.0.0.1:1883) and RabbitMQ (127.0.0.1:5672) are required',
    );
  console.warn(
    '\n*** SKIPPED apps/fleet-bench fleet test: Mosquitto at 127.0.0.1:1883 or RabbitMQ at 127.0.0.1:5672 is not reachable ***\n',
  );
}

describe.skipIf(!brokers)('fleet harness, tiny fleet, real brokers', () => {
  it('updates 30 DDI + 10 MQTT devices with nothing lost and every SIE event there', async () => {
    const lines: string[] = [];
    const r = await runFleet({
      ddi: 30,
      mqtt: 10,
      pollSeconds: 1,
      artifactBytes: 4096,
      mqttUrl: MQTT_URL,
      amqpUrl: AMQP_URL,
      updateTimeoutMs: 30_000,
      measureSeconds: 1,
      blastConnections: 4,
      rawMessages: 200,
      log: (line) => lines.push(line),
    });
    expect(r.completed).toEqual({ ddi: 30, mqtt: 10, inSync: 40 });
    expect(r.lost).toBe(0);
    expect(r.errors.ddi).toBe(0);
    expect(r.errors.mqtt).toBe(0);
    expect(r.sie.check.missing).toEqual({
      actionCreated: 0,
      actionFinished: 0,
      targetInSync: 0,
      assignment: 0,
    });
    expect(r.sie.byTopic.UPDATE_ASSIGNMENT).toBe(1);
    // Every step was measured: each DDI device posted four feedbacks.
    expect(r.latency.feedback.count).toBe(120);
    expect(r.backend.peakRssBytes).toBeGreaterThan(0);
    expect(r.blast?.backend.requests).toBeGreaterThan(0);
    expect(r.blast?.bare.requests).toBeGreaterThan(0);
    expect(r.raw?.mqttPerSecond).toBeGreaterThan(0);
    expect(r.raw?.amqpPerSecond).toBeGreaterThan(0);
    expect(lines.some((l) => l.startsWith('update t='))).toBe(true);
  }, 90_000);
});
