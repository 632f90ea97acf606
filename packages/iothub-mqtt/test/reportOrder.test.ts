import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Commander,
  createCommander,
  eventTopic,
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

const up = await requireBroker(
  `Mosquitto on ${SHARED_BROKER.host}:${SHARED_BROKER.port}`,
  sharedBrokerUp,
);
const URL = `mqtt://${SHARED_BROKER.host}:${SHARED_BROKER.port}`;

const SEQUENCE = [
  'STARTED',
  ...Array.from({ length: 6 }, (_, i) => `DOWNLOADING:${i * 20}`),
  'DOWNLOADED',
  'INSTALLING:0',
  'INSTALLING:100',
  'INSTALLED',
  'FINISHED_SUCCESS',
];

describe.skipIf(!up)('commander report ingest under concurrency', () => {
  let commander: Commander | undefined;
  let devices: MqttClient[] = [];
  afterEach(async () => {
    await commander?.stop();
    await Promise.all(devices.map((d) => d.endAsync()));
    commander = undefined;
    devices = [];
  });

  it("keeps each device's reports in order while devices interleave, and a bad report stays isolated", async () => {
    const tenant = unique('order');
    const ids = Array.from({ length: 20 }, (_, i) => unique(`ord${i}`));
    const correlation = (i: number) => `corr-${tenant}-${i}`;
    const { service, actions } = await assignedWithCorrelation(ids, correlation);

    commander = createCommander({
      url: URL,
      service,
      tenant,
      artifactUrl: () => 'http://127.0.0.1/unused',
      clientId: unique('commander'),
    });
    const outcomes = new Map<string, ReportOutcome[]>(ids.map((id) => [id, []]));
    commander.onReport((o) => outcomes.get(o.deviceId)?.push(o));
    await commander.start();
    devices = await Promise.all(ids.map((id) => mqtt.connectAsync(URL, { clientId: unique(id) })));

    const report = (i: number, step: string) => {
      const [status, progress] = step.split(':');
      const value: Record<string, unknown> = { correlationId: correlation(i), status };
      if (progress !== undefined) value.progress = Number(progress);
      return JSON.stringify(
        twinModify({
          thingId: `otaflow:${ids[i]}`,
          path: statusPropertyPath('SoftwareUpdatable', 'lastOperation'),
          value,
        }),
      );
    };
    // Every device fires its whole sequence without waiting, so reports of all devices arrive
    // interleaved; device 0 also sends a malformed report in the middle.
    await Promise.all(
      devices.flatMap((d, i) => {
        const topic = eventTopic({ tenant, deviceId: ids[i], short: true });
        const payloads = SEQUENCE.map((step) => report(i, step));
        if (i === 0) payloads.splice(4, 0, '{"topic": 42}');
        return payloads.map((p) => d.publishAsync(topic, p, { qos: 1 }));
      }),
    );
    const expected = SEQUENCE.length * ids.length + 1;
    await waitFor(
      () => [...outcomes.values()].reduce((n, list) => n + list.length, 0) >= expected,
      'every report processed',
      30_000,
    );

    const statuses = SEQUENCE.map((step) => step.split(':')[0]);
    for (const [i, id] of ids.entries()) {
      const list = outcomes.get(id) ?? [];
      const applied = list.filter((o) => o.result === 'applied');
      expect(applied.map((o) => o.status)).toEqual(statuses);
      expect(applied.every((o) => o.actionId === actions[i]?.id)).toBe(true);
      if (i === 0) {
        expect(list.map((o) => o.result)[4]).toBe('dropped');
        expect(list).toHaveLength(SEQUENCE.length + 1);
      } else expect(list).toHaveLength(SEQUENCE.length);
      expect((await service.getTarget(id))?.updateStatus).toBe('IN_SYNC');
    }
    expect(commander.stats).toMatchObject({ applied: SEQUENCE.length * ids.length, dropped: 1 });
  }, 60_000);
});
