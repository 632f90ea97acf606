/**
 * lastOperation reports ingested per second by the Commander from 1,000 simulated devices through
 * Mosquitto, as a ratio to raw mqtt.js publish/subscribe of the same payloads in the same run.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { MemoryUpdateStore, UpdateService } from '@otaflow/core';
import mqtt, { type MqttClient } from 'mqtt';
import {
  CORRELATION_REF,
  createCommander,
  eventTopic,
  statusPropertyPath,
  twinModify,
} from '../src/index.js';
import { OwnBroker, unique, waitFor } from '../test/helpers.js';

const DEVICES = 1000;
const ROUNDS = 2;
const SEQUENCE = [
  'STARTED',
  ...Array.from({ length: 11 }, (_, i) => `DOWNLOADING:${i * 10}`),
  'DOWNLOADED',
  'INSTALLING:0',
  'INSTALLING:50',
  'INSTALLING:100',
  'INSTALLED',
  'FINISHED_SUCCESS',
];
const TOTAL = DEVICES * SEQUENCE.length;

const log = (line: string) => console.log(`[bench] ${line}`);

function payloads(tenant: string, ids: string[], correlation: (i: number) => string): string[][] {
  return SEQUENCE.map((step) => {
    const [status, progress] = step.split(':');
    return ids.map((id, i) => {
      const value: Record<string, unknown> = {
        correlationId: correlation(i),
        status,
        softwareModule: { name: 'app', version: '1.0.0' },
      };
      if (progress !== undefined) value.progress = Number(progress);
      void tenant;
      return JSON.stringify(
        twinModify({
          thingId: `otaflow:${id}`,
          path: statusPropertyPath('SoftwareUpdatable', 'lastOperation'),
          value,
        }),
      );
    });
  });
}

/** Every device publishes its reports in order, QoS 1; rounds of one report per device. */
async function publishAll(
  devices: MqttClient[],
  tenant: string,
  ids: string[],
  steps: string[][],
): Promise<void> {
  for (const step of steps) {
    await Promise.all(
      devices.map((d, i) =>
        d.publishAsync(
          eventTopic({ tenant, deviceId: ids[i] as string, short: true }),
          step[i] as string,
          { qos: 1 },
        ),
      ),
    );
  }
}

async function rawRun(url: string, devices: MqttClient[], ids: string[]): Promise<number> {
  const tenant = unique('raw');
  const steps = payloads(tenant, ids, (i) => `c-${i}`);
  const sub = await mqtt.connectAsync(url, { clientId: unique('raw-sub') });
  let received = 0;
  sub.on('message', () => {
    received++;
  });
  await sub.subscribeAsync(`e/${tenant}/+/#`, { qos: 1 });
  const start = performance.now();
  await publishAll(devices, tenant, ids, steps);
  await waitFor(() => received >= TOTAL, 'raw subscriber', 120_000);
  const seconds = (performance.now() - start) / 1000;
  await sub.endAsync();
  return TOTAL / seconds;
}

async function commanderRun(
  url: string,
  devices: MqttClient[],
  ids: string[],
): Promise<{ rate: number; applied: number }> {
  const tenant = unique('cmd');
  const service = new UpdateService({ store: new MemoryUpdateStore() });
  const module = await service.createSoftwareModule({
    type: 'application',
    name: 'app',
    version: '1.0.0',
  });
  const set = await service.createDistributionSet({
    name: 'set',
    version: '1',
    modules: [module.id],
  });
  for (const id of ids) await service.createTarget({ controllerId: id });
  const { actions } = await service.assign(
    set.id,
    ids.map((controllerId) => ({ controllerId })),
  );
  const correlation = (i: number) => `corr-${tenant}-${i}`;
  for (const [i, action] of actions.entries())
    await service.setActionRef(action.id, CORRELATION_REF, correlation(i));
  const steps = payloads(tenant, ids, correlation);
  const commander = createCommander({
    url,
    service,
    tenant,
    artifactUrl: () => 'http://127.0.0.1/unused',
    clientId: unique('commander'),
  });
  let ingested = 0;
  commander.onReport(() => {
    ingested++;
  });
  await commander.start();
  const start = performance.now();
  await publishAll(
    devices,
    tenant,
    ids,
    steps.map((s) => s.map((p) => p)),
  );
  await waitFor(() => ingested >= TOTAL, 'commander', 120_000);
  const seconds = (performance.now() - start) / 1000;
  const applied = commander.stats.applied;
  await commander.stop();
  const sample = await service.getTarget(ids[0] as string);
  if (sample?.updateStatus !== 'IN_SYNC')
    throw new Error(`expected IN_SYNC, got ${sample?.updateStatus}`);
  return { rate: TOTAL / seconds, applied };
}

const broker = await OwnBroker.create();
log(`mosquitto on ${broker.url}; connecting ${DEVICES} devices`);
const ids = Array.from({ length: DEVICES }, (_, i) => `bench-dev-${i}`);
const devices: MqttClient[] = [];
for (let i = 0; i < DEVICES; i += 100) {
  devices.push(
    ...(await Promise.all(
      ids.slice(i, i + 100).map((id) => mqtt.connectAsync(broker.url, { clientId: unique(id) })),
    )),
  );
}
log(`${DEVICES} devices connected; ${SEQUENCE.length} reports each, ${TOTAL} per run`);

const raw: number[] = [];
const commander: number[] = [];
try {
  log('warm-up');
  await rawRun(broker.url, devices, ids);
  await commanderRun(broker.url, devices, ids);
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await rawRun(broker.url, devices, ids);
    raw.push(r);
    log(`round ${round}: raw mqtt.js ${r.toFixed(0)} msg/s`);
    const c = await commanderRun(broker.url, devices, ids);
    commander.push(c.rate);
    log(`round ${round}: commander ${c.rate.toFixed(0)} reports/s (${c.applied} applied)`);
  }
} finally {
  await Promise.all(devices.map((d) => d.endAsync()));
  await broker.stop();
}

const best = (xs: number[]) => Math.max(...xs);
const baseline = best(raw);
const value = best(commander);
const ratio = value / baseline;
console.log('\n| metric | value | baseline (raw mqtt.js) | ratio | goal |');
console.log('|---|---|---|---|---|');
console.log(
  `| lastOperation reports ingested/s, ${DEVICES} devices | ${value.toFixed(0)} | ${baseline.toFixed(0)} | ${ratio.toFixed(2)} | 0.7 |`,
);
const result = {
  name: '@otaflow/iothub-mqtt',
  date: new Date().toISOString(),
  machine: {
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
  },
  figures: [
    {
      metric: `lastOperation reports ingested per second by the Commander (${DEVICES} devices, ${TOTAL} reports, best of ${ROUNDS})`,
      value: Math.round(value),
      unit: 'reports/s',
      baseline: Math.round(baseline),
      ratio: Math.round(ratio * 1000) / 1000,
      goal: 0.7,
    },
  ],
};
writeFileSync(new URL('./result.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
log('wrote bench/result.json');
