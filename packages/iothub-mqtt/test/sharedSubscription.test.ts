import { MemoryUpdateStore, UpdateService } from '@otaflow/core';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Commander,
  commanderFilters,
  createCommander,
  eventTopic,
  IotHubError,
  type ReportOutcome,
  statusPropertyPath,
  twinModify,
} from '../src/index.js';
import {
  assignedWithCorrelation,
  requireBroker,
  SHARED_BROKER,
  sharedBrokerUp,
  unique,
  waitFor,
} from './helpers.js';

const shared = await requireBroker(
  `Mosquitto on ${SHARED_BROKER.host}:${SHARED_BROKER.port}`,
  sharedBrokerUp,
);
const URL = `mqtt://${SHARED_BROKER.host}:${SHARED_BROKER.port}`;
const DEVICES = 60;

describe('share group filters', () => {
  it('shares the reports and never the command responses', () => {
    expect(commanderFilters('acme', 'otaflow')).toEqual([
      '$share/otaflow/e/acme/+/#',
      '$share/otaflow/event/acme/+/#',
      '$share/otaflow/t/acme/+/#',
      '$share/otaflow/telemetry/acme/+/#',
      'command/acme/+/res/#',
      'c/acme/+/s/#',
    ]);
    expect(commanderFilters('acme')[0]).toBe('e/acme/+/#');
  });

  it('refuses a group name the broker would read as a topic level or wildcard', () => {
    for (const shareGroup of ['', 'a/b', 'a+', '#'])
      expect(() =>
        createCommander({
          url: URL,
          service: new UpdateService({ store: new MemoryUpdateStore() }),
          tenant: 't',
          artifactUrl: () => '',
          shareGroup,
        }),
      ).toThrow(IotHubError);
  });
});

describe.skipIf(!shared)('two commanders in one share group (Mosquitto)', () => {
  const commanders: Commander[] = [];
  const clients: MqttClient[] = [];
  afterEach(async () => {
    for (const commander of commanders.splice(0)) await commander.stop();
    for (const client of clients.splice(0)) await client.endAsync();
  });

  it('hands each report to one of them, and all to the other once one leaves', async () => {
    const tenant = unique('share');
    const group = unique('group');
    const ids = Array.from({ length: DEVICES }, (_, i) => `${tenant}-d${i}`);
    const correlation = (i: number) => `corr-${tenant}-${i}`;
    // Two backends on one store: each with its own service, as each process has.
    const store = new MemoryUpdateStore();
    await assignedWithCorrelation(ids, correlation, store);
    const outcomes = new Map<string, ReportOutcome[]>();
    const start = async (name: string, protocolVersion: 4 | 5) => {
      const commander = createCommander({
        url: URL,
        service: new UpdateService({ store }),
        tenant,
        artifactUrl: () => 'http://127.0.0.1/unused',
        clientId: unique(`${tenant}-${name}`),
        shareGroup: group,
        mqttOptions: { protocolVersion },
      });
      const seen: ReportOutcome[] = [];
      outcomes.set(name, seen);
      commander.onReport((o) => seen.push(o));
      commanders.push(commander);
      await commander.start();
      return commander;
    };
    // Mosquitto 2 shares in 3.1.1 sessions too: one member of each kind.
    const a = await start('a', 5);
    const b = await start('b', 4);

    const device = await mqtt.connectAsync(URL, { clientId: unique('publisher') });
    clients.push(device);
    const publish = async (status: string) => {
      for (const [i, deviceId] of ids.entries())
        await device.publishAsync(
          eventTopic({ tenant, deviceId }),
          JSON.stringify(
            twinModify({
              thingId: `otaflow:${deviceId}`,
              path: statusPropertyPath('SoftwareUpdatable', 'lastOperation'),
              value: { correlationId: correlation(i), status },
            }),
          ),
          { qos: 1 },
        );
    };
    // A response topic is subscribed plainly by both: published after the reports, it reaches
    // each commander behind every report the broker gave that commander.
    const marker = async (members: Commander[]) => {
      const seen = members.map(
        (member) =>
          new Promise<void>((resolve) => {
            const client = member.client as MqttClient;
            const onMessage = (topic: string) => {
              if (!topic.endsWith('/marker/200')) return;
              client.off('message', onMessage);
              resolve();
            };
            client.on('message', onMessage);
          }),
      );
      await device.publishAsync(`command/${tenant}/${ids[0]}/res/marker/200`, '', { qos: 1 });
      await Promise.all(seen);
    };
    const all = () => [...(outcomes.get('a') ?? []), ...(outcomes.get('b') ?? [])];

    await publish('DOWNLOADING');
    await marker([a, b]);
    await waitFor(() => all().length >= DEVICES, 'the first reports');
    const first = all();
    expect(first).toHaveLength(DEVICES);
    expect(new Set(first.map((o) => o.deviceId)).size).toBe(DEVICES);
    expect(first.every((o) => o.result === 'applied')).toBe(true);
    // Mosquitto takes turns: both members got a share.
    expect(outcomes.get('a')?.length).toBeGreaterThan(0);
    expect(outcomes.get('b')?.length).toBeGreaterThan(0);

    const aBefore = outcomes.get('a')?.length ?? 0;
    const bBefore = outcomes.get('b')?.length ?? 0;
    await a.stop();
    await publish('INSTALLING');
    await marker([b]);
    await waitFor(() => (outcomes.get('b')?.length ?? 0) >= bBefore + DEVICES, 'the later reports');
    const later = (outcomes.get('b') ?? []).slice(bBefore);
    expect(later).toHaveLength(DEVICES);
    expect(new Set(later.map((o) => o.deviceId)).size).toBe(DEVICES);
    expect(outcomes.get('a')).toHaveLength(aBefore);
  });
});
