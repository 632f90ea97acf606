import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { type AppExit, spawnApp } from '@otaflow/cli';
import { createSieConsumer, createSiePublisher, type SieConsumer } from '@otaflow/sie-amqp';
import { afterAll, describe, expect, it } from 'vitest';
import type { DemoSummary } from '../src/summary.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const CI = process.env.CI === 'true';

type Run = AppExit;

const runDemo = (args: string[], env: Record<string, string | undefined>): Promise<Run> =>
  spawnApp(MAIN, args, { env }).done;

function reachable(url: string): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const done = (problem?: string) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(2000, () => done(`${url} did not answer`));
    socket.once('connect', () => done());
    socket.once('error', (error) => done(`${url} is unreachable (${error.message})`));
  });
}

const brokerProblem = (await reachable(MQTT_URL)) ?? (await reachable(AMQP_URL));
if (brokerProblem && !CI)
  console.warn(
    `\n*** SKIPPED demo end-to-end test over Mosquitto and RabbitMQ: ${brokerProblem} ***\n`,
  );

const summaryOf = (run: Run): DemoSummary => {
  const line = run.out.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as DemoSummary;
  } catch {
    throw new Error(`no JSON summary (exit ${run.code}); stderr:\n${run.err.slice(-3000)}`);
  }
};

describe('otaflow demo', () => {
  it('--help lists the flags and their environment variables', async () => {
    const run = await runDemo(['--help'], {});
    expect(run.code).toBe(0);
    for (const word of [
      'Usage: otaflow-demo',
      '--ddi',
      '--mqtt',
      '--huawei',
      '--json',
      '--inspect',
      'MQTT_URL',
      'AMQP_URL',
    ])
      expect(run.out).toContain(word);
  });

  it('runs with embedded defaults (no broker URLs): every path ends as expected', async () => {
    const run = await runDemo(['--ddi', '3', '--mqtt', '2', '--huawei', '2', '--json'], {
      MQTT_URL: undefined,
      AMQP_URL: undefined,
    });
    const summary = summaryOf(run);
    expect(run.code, run.err).toBe(0);
    expect(summary.ok).toBe(true);
    expect(summary.backend.embeddedBroker).toBe(true);
    expect(summary.sie).toMatchObject({ enabled: false, off: 'no AMQP_URL given' });
    expect(run.err).toContain('SIE: off (no AMQP_URL given)');
    expect(summary.actions).toEqual({ CANCELED: 1, FINISHED: 3, ERROR: 3 });
    expect(summary.targets).toEqual({ IN_SYNC: 4, ERROR: 3 });
    // The update ran as a rollout: the canary first, the failing wave paused it, the demo resumed.
    expect(summary.rollout).toMatchObject({ status: 'finished', resumed: true });
    expect(summary.rollout.groups).toEqual([
      { name: 'canary', status: 'finished', total: 2, finished: 2, error: 0 },
      { name: 'wave-1', status: 'error', total: 3, finished: 0, error: 3 },
    ]);
    expect(run.err).toContain('group wave-1 tripped its error threshold');
  }, 60_000);

  describe.skipIf(brokerProblem !== undefined && !CI)('over Mosquitto and RabbitMQ', () => {
    const id = `otaflow-demo-${process.pid}-${randomBytes(4).toString('hex')}`;
    let consumer: SieConsumer | undefined;
    afterAll(async () => {
      await consumer?.close();
      // The backend declares the demo's queue durable and without expiry: drop it (best effort;
      // the test's own queue expires by itself, the exchange is left, as rabbitmqctl cannot delete one).
      await new Promise((resolve) =>
        execFile('rabbitmqctl', ['delete_queue', `${id}.demo`], { timeout: 20_000 }, resolve),
      );
    }, 30_000);

    it('reaches the expected final states and the SIE events match', async () => {
      if (brokerProblem)
        throw new Error(`${brokerProblem}; CI=true, so this fails instead of skipping`);
      const exchange = `${id}.exchange`;
      // A queue of the test's own on the backend's exchange; it expires when unused, so nothing is left behind.
      const testQueue = `${id}.test`;
      const declarer = createSiePublisher({
        url: AMQP_URL,
        tenant: 'x',
        exchange,
        queue: testQueue,
        queueArguments: { 'x-expires': 60_000, 'x-max-length': 10_000 },
      });
      await declarer.start({ timeoutMs: 5000 });
      await declarer.close();
      const seen: { topic: string; body: Record<string, unknown> }[] = [];
      const handler = (topic: string) => (body: unknown) => {
        seen.push({ topic, body: body as Record<string, unknown> });
      };
      consumer = createSieConsumer({
        url: AMQP_URL,
        queue: testQueue,
        dedupe: true,
        handlers: {
          ACTION_CREATED: handler('ACTION_CREATED'),
          ACTION_UPDATED: handler('ACTION_UPDATED'),
          TARGET_UPDATED: handler('TARGET_UPDATED'),
          UPDATE_ASSIGNMENT: handler('UPDATE_ASSIGNMENT'),
        },
      });
      await consumer.start();

      const run = await runDemo(['--ddi', '3', '--mqtt', '2', '--huawei', '2', '--json'], {
        MQTT_URL,
        AMQP_URL,
        TENANT: id.replace(/\./g, '-'),
        SIE_EXCHANGE: exchange,
        SIE_QUEUE: `${id}.demo`,
      });
      const summary = summaryOf(run);
      expect(run.code, run.err).toBe(0);
      expect(summary.ok).toBe(true);
      expect(summary.backend.embeddedBroker).toBe(false);
      expect(summary.sie.enabled).toBe(true);
      expect(summary.sie.events.ACTION_CREATED).toBe(7);

      const actions = summary.devices.map((d) => ({ ...d, actionId: d.actionId as number }));
      const complete = () =>
        actions.every(
          (d) =>
            seen.some((e) => e.topic === 'ACTION_CREATED' && e.body.actionId === d.actionId) &&
            seen.some(
              (e) =>
                e.topic === 'ACTION_UPDATED' &&
                e.body.actionId === d.actionId &&
                e.body.actionStatus === d.expectedAction,
            ) &&
            seen.some(
              (e) =>
                e.topic === 'TARGET_UPDATED' &&
                e.body.controllerId === d.controllerId &&
                String(e.body.updateStatus).toUpperCase() === d.expectedTarget,
            ),
        ) && seen.some((e) => e.topic === 'UPDATE_ASSIGNMENT');
      const end = Date.now() + 10_000;
      while (!complete() && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
      expect(
        complete(),
        JSON.stringify(
          seen.map((e) => [
            e.topic,
            e.body.actionId ?? e.body.controllerId,
            e.body.actionStatus ?? e.body.updateStatus,
          ]),
        ),
      ).toBe(true);

      // The last ACTION_UPDATED of each action is its final, closed state.
      for (const d of actions) {
        const last = seen
          .filter((e) => e.topic === 'ACTION_UPDATED' && e.body.actionId === d.actionId)
          .at(-1);
        expect(last?.body).toMatchObject({
          actionStatus: d.expectedAction,
          controllerId: d.controllerId,
        });
      }
      // One UPDATE_ASSIGNMENT for the direct assignment and one per rollout group as it starts:
      // every device is in exactly one.
      const assigned = seen
        .filter((e) => e.topic === 'UPDATE_ASSIGNMENT')
        .flatMap((e) => (e.body as { targets: { controllerId: string }[] }).targets)
        .map((t) => t.controllerId);
      expect(assigned.sort()).toEqual(actions.map((d) => d.controllerId).sort());
    }, 90_000);
  });
});
