import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { spawnApp } from '@otaflow/cli';
import { createSiePublisher } from '@otaflow/sie-amqp';
import * as amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { formatEvent } from '../src/formatEvent.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

const runApp = (args: string[], env: Record<string, string> = {}) => spawnApp(main, args, { env });

async function brokerProblem(): Promise<string | undefined> {
  try {
    const c = await amqp.connect(AMQP_URL, { timeout: 2000 });
    await c.close();
    return undefined;
  } catch (error) {
    return `RabbitMQ at ${AMQP_URL} is unreachable (${(error as Error).message})`;
  }
}
const problem = await brokerProblem();
if (problem && process.env.CI !== 'true')
  console.warn(`\n*** SKIPPED sie-consumer broker tests: ${problem} ***\n`);

describe('formatEvent', () => {
  it('prints one readable line per topic, or the JSON object', () => {
    const action = {
      topic: 'ACTION_UPDATED' as const,
      tenant: 'T1',
      body: {
        actionId: 99,
        actionStatus: 'FINISHED',
        lastActionStatusCode: '200',
        actionActive: false,
        controllerId: 'dev',
        distributionSetName: 'fw',
        distributionSetVersion: '1.0',
        timestamp: 1_700_000_000_000,
      },
    };
    expect(formatEvent(action as never, 'pretty')).toMatch(
      /ACTION_UPDATED\s+T1 action=99 target=dev FINISHED \(closed\) code=200 fw:1.0/,
    );
    expect(JSON.parse(formatEvent(action as never, 'json'))).toEqual(action);
    const assignment = {
      topic: 'UPDATE_ASSIGNMENT' as const,
      tenant: 'T1',
      body: {
        timestamp: 1,
        softwareModules: [{ moduleName: 'app', moduleVersion: '1' }],
        targets: Array.from({ length: 7 }, (_, i) => ({ controllerId: `d${i}`, actionId: i + 1 })),
      },
    };
    expect(formatEvent(assignment as never, 'pretty')).toContain(
      '7 target(s): d0#1 d1#2 d2#3 d3#4 d4#5 +2 more modules: app:1',
    );
  });
});

describe('otaflow-sie-consumer', () => {
  it('prints --help and exits 0', async () => {
    const { done } = runApp(['--help']);
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.out).toContain('--amqp-url <URL>');
    expect(r.out).toContain('env AMQP_URL');
  });

  it('refuses a bad flag with exit code 2', async () => {
    const r = await runApp(['--bogus']).done;
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown option --bogus');
  });

  describe.skipIf(problem !== undefined && process.env.CI !== 'true')('against RabbitMQ', () => {
    const names: string[] = [];
    afterAll(async () => {
      if (problem) return;
      const c = await amqp.connect(AMQP_URL);
      const ch = await c.createChannel();
      for (const n of names) {
        await ch.deleteQueue(n).catch(() => {});
        await ch.deleteExchange(n).catch(() => {});
      }
      await c.close();
    });

    it('prints the events a publisher sent, as JSON lines, and stops after --count', async () => {
      if (problem) throw new Error(`${problem}; CI=true, so this fails instead of skipping`);
      const id = `otaflow-sie-app-${process.pid}-${randomBytes(4).toString('hex')}`;
      names.push(id);
      const publisher = createSiePublisher({
        url: AMQP_URL,
        tenant: 'DEMO',
        exchange: id,
        queue: id,
      });
      await publisher.start({ timeoutMs: 10_000 });
      await publisher.publish({
        type: 'TARGET_CREATED',
        controllerId: 'dev-1',
        updateStatus: 'REGISTERED',
        timestamp: 1,
      });
      await publisher.publish({
        type: 'ACTION_UPDATED',
        actionId: 7,
        actionStatus: 'RUNNING',
        lastActionStatusCode: 'N/A',
        actionActive: true,
        controllerId: 'dev-1',
        distributionSetId: 1,
        distributionSetName: 'fw',
        distributionSetVersion: '2',
        timestamp: 2,
      });
      await publisher.close();
      const r = await runApp(['--queue', id, '--format', 'json', '--count', '2'], { AMQP_URL })
        .done;
      expect(r.code).toBe(0);
      const lines = r.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toEqual([
        {
          topic: 'TARGET_CREATED',
          tenant: 'DEMO',
          body: { controllerId: 'dev-1', updateStatus: 'REGISTERED', timestamp: 1 },
        },
        expect.objectContaining({
          topic: 'ACTION_UPDATED',
          tenant: 'DEMO',
          body: expect.objectContaining({ actionId: 7, actionStatus: 'RUNNING' }),
        }),
      ]);
      // Logs are structured lines on stderr, so stdout stays clean for the events.
      expect(
        r.err
          .split('\n')
          .filter(Boolean)
          .every((l) => JSON.parse(l).app === 'sie-consumer'),
      ).toBe(true);
    });

    it('stops cleanly on SIGTERM', async () => {
      if (problem) throw new Error(`${problem}; CI=true, so this fails instead of skipping`);
      const id = `otaflow-sie-app-${process.pid}-${randomBytes(4).toString('hex')}`;
      names.push(id);
      const c = await amqp.connect(AMQP_URL);
      const ch = await c.createChannel();
      await ch.assertQueue(id, { durable: false });
      await c.close();
      const app = runApp(['--queue', id], { AMQP_URL });
      await app.waitForLine((line) => line.includes('"consuming"'));
      const r = await app.stop();
      expect(r.code).toBe(0);
      expect(r.err).toContain('"stopped"');
    });
  });
});
