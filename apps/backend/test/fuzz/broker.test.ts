import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDeviceAgent,
  type DeviceAgent,
  type ReportOutcome,
  twinModify,
} from '@otaflow/iothub-mqtt';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { call } from '../helpers.js';
import {
  FUZZ_RUNS,
  fuzzParameters,
  MAX_STALL_MS,
  type Seeded,
  StallMeter,
  snapshot,
  startFuzzBackend,
} from './fuzzKit.js';

const PASSWORD = 'fuzz-device-password';

/** A device connection; no reconnects, so a refused QoS 1 message is not resent forever. */
async function connect(name: string): Promise<MqttClient> {
  const connected = await mqtt.connectAsync(seeded.backend.mqttUrl, {
    clientId: `${DEVICE}-${name}`,
    username: `${DEVICE}@DEFAULT`,
    password: PASSWORD,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  connected.on('error', () => {});
  return connected;
}

const DEVICE = 'fz-1';
let seeded: Seeded;
let meter: StallMeter;
let client: MqttClient;
const outcomes: ReportOutcome[] = [];
beforeAll(async () => {
  seeded = await startFuzzBackend({ mqttDevicePassword: PASSWORD });
  seeded.backend.commander?.onReport((outcome) => {
    if (process.env.FUZZ_TRACE) console.info(JSON.stringify(outcome));
    outcomes.push(outcome);
  });
  client = await connect('mark');
  meter = new StallMeter();
});
afterAll(async () => {
  meter?.stop();
  await client?.endAsync(true);
  await seeded?.backend.close();
});

const thing = `otaflow:${DEVICE}`;

/** Ditto envelopes around SoftwareUpdatable writes, and everything that is almost one. */
const payloadArb = fc.oneof(
  fc
    .record(
      {
        topic: fc.oneof(
          fc.constantFrom(
            `${thing.replace(':', '/')}/things/twin/commands/modify`,
            `${thing.replace(':', '/')}/things/twin/commands/merge`,
            'otaflow/fz-2/things/twin/commands/modify',
            '/things/twin/commands/modify',
            'a/b/things/live/messages/install',
          ),
          fc.string({ maxLength: 30 }),
        ),
        path: fc.oneof(
          fc.constantFrom(
            '/features/softwareupdatable/properties/status/lastOperation',
            '/features/softwareupdatable',
            '/features/other/properties/status/lastOperation',
            '/features/%ZZ',
          ),
          fc.string({ maxLength: 30 }),
        ),
        headers: fc.oneof(fc.constant({ 'correlation-id': 'x' }), fc.anything({ maxDepth: 2 })),
        value: fc.oneof(
          fc.record(
            {
              correlationId: fc.oneof(
                fc.constantFrom('1', 'nope', ''),
                fc.string({ maxLength: 10 }),
              ),
              status: fc.constantFrom(
                'STARTED',
                'DOWNLOADING',
                'FINISHED_SUCCESS',
                'FINISHED_ERROR',
                'CANCEL_REJECTED',
                'BOGUS',
                '',
              ),
              progress: fc.oneof(fc.integer(), fc.double()),
              message: fc.string({ maxLength: 20 }),
              statusCode: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()),
            },
            { requiredKeys: [] },
          ),
          fc.anything({ maxDepth: 3 }),
        ),
      },
      { requiredKeys: [] },
    )
    .map((envelope) => Buffer.from(JSON.stringify(envelope))),
  fc.json({ maxDepth: 3 }).map((json) => Buffer.from(json)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  fc.integer({ min: 100, max: 50_000 }).map((n) => Buffer.from('['.repeat(n))),
);

/** The device's own report topics mostly, someone else's, commands, and garbage. */
const topicArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      `e/DEFAULT/${DEVICE}`,
      `event/DEFAULT/${DEVICE}`,
      `t/DEFAULT/${DEVICE}`,
      `telemetry/DEFAULT/${DEVICE}`,
      `event/DEFAULT/${DEVICE}/extra/levels`,
      `command///res/1/200`,
      `command/DEFAULT/${DEVICE}/res/x/200`,
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'event/DEFAULT/fz-2',
      'e/OTHER/fz-1',
      'command/DEFAULT/fz-2/req/x/install',
      '$SYS/x',
      'e/DEFAULT/fz-1/%ZZ',
      `e/DEFAULT/${'x'.repeat(5000)}`,
      'e/DEFAULT/\u00e9',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
      // Wildcards and NUL are not topic names: mqtt.js refuses them before they are sent.
      .filter((t) => !t.includes('#') && !t.includes('+') && !t.includes(String.fromCharCode(0))),
  },
);

let nonce = 0;

/**
 * A marker after the fuzzed message, on the device's own queue: the commander handles one
 * device's reports in order, so seeing the marker's outcome means the fuzzed one is done.
 */
async function drained(): Promise<void> {
  const mark = `mark-${++nonce}`;
  const topic = `${thing.replace(':', '/')}/things/live/messages/${mark}`;
  const seen = () => outcomes.some((o) => o.reason?.includes(mark));
  await client.publishAsync(
    `e/DEFAULT/${DEVICE}`,
    JSON.stringify({ topic, path: '/', headers: {}, value: 1 }),
    {
      qos: 1,
    },
  );
  const deadline = Date.now() + 10_000;
  while (!seen()) {
    if (Date.now() > deadline) throw new Error(`marker ${mark} never reached the commander`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('fuzz: embedded broker topics', () => {
  it('never stalls, keeps serving, and changes nothing it does not apply', async () => {
    await fc.assert(
      fc.asyncProperty(
        topicArb,
        payloadArb,
        fc.constantFrom(0 as const, 1 as const),
        async (topic, payload, qos) => {
          const before = await snapshot(seeded.backend);
          const from = outcomes.length;
          const send = async () => {
            meter.reset();
            // Its own connection: the broker may close it for a topic the device may not use.
            const fuzzed = await connect('fuzz');
            await Promise.race([
              fuzzed.publishAsync(topic, payload, { qos }).catch(() => {}),
              new Promise<void>((resolve) => fuzzed.on('close', () => resolve())),
            ]);
            await fuzzed.endAsync(true);
            await drained();
            return meter.maxMs();
          };
          let stall = await send();
          // As for HTTP: only a stall that comes back every time is the message's doing.
          for (let attempt = 0; attempt < 2 && stall > MAX_STALL_MS; attempt++)
            stall = Math.min(stall, await send());
          if (stall > MAX_STALL_MS)
            throw new Error(`event loop stalled ${stall.toFixed(0)} ms (3 times): ${topic}`);
          const applied = outcomes
            .slice(from)
            .some((o) => o.result === 'applied' || o.result === 'registered');
          if (!applied && (await snapshot(seeded.backend)) !== before)
            throw new Error(
              `state changed behind a refusal: ${topic} ${payload.toString('utf8').slice(0, 200)}`,
            );
        },
      ),
      fuzzParameters(Math.min(FUZZ_RUNS, 200)),
    );
  });
});

// ------------------------------------------------------------------ another device's topics

const VICTIM = 'fz-victim';

describe('fuzz: embedded broker, another device’s topics', () => {
  let victim: DeviceAgent;
  let downloadDir: string;
  let correlationId: string;
  let actionId: number;
  let release: () => void = () => {};
  const installing = new Promise<void>((resolve) => {
    release = resolve;
  });

  beforeAll(async () => {
    downloadDir = await mkdtemp(join(tmpdir(), 'otaflow-fuzz-broker-'));
    // A real SoftwareUpdatable device, mid-install: what a forged report would finish.
    victim = createDeviceAgent({
      url: seeded.backend.mqttUrl,
      tenant: 'DEFAULT',
      deviceId: VICTIM,
      authId: VICTIM,
      password: PASSWORD,
      softwareModuleType: 'os',
      downloadDir,
      mqttOptions: { reconnectPeriod: 200 },
      installer: {
        async install() {
          await installing;
        },
      },
    });
    await victim.start();
    await until('the victim to register', async () =>
      (await seeded.backend.service.getTarget(VICTIM))?.channel === 'mqtt' ? true : undefined,
    );
    const assigned = await call(
      seeded.backend,
      'POST',
      `/rest/v1/distributionsets/${seeded.setId}/assignedTargets`,
      [{ id: VICTIM }],
    );
    if (assigned.status !== 200) throw new Error(`assignment answered ${assigned.status}`);
    const [action] = await seeded.backend.service.listActions(VICTIM);
    actionId = action?.id as number;
    correlationId = await until(
      'the install command',
      async () => (await seeded.backend.service.getAction(actionId))?.refs['suv2.correlationId'],
    );
    // Its own INSTALLING report applied: from here on nothing may move the action.
    await until('the victim to report INSTALLING', () =>
      outcomes.find(
        (o) => o.deviceId === VICTIM && o.status === 'INSTALLING' && o.result === 'applied',
      ),
    );
  });
  afterAll(async () => {
    release();
    await victim?.stop({ force: true });
    if (downloadDir) await rm(downloadDir, { recursive: true, force: true });
  });

  /** Filters that match the victim's topics (and maybe others): every one must be refused. */
  const filtersArb = fc.subarray(
    [
      `command/DEFAULT/${VICTIM}/req/#`,
      `command/DEFAULT/${VICTIM}/#`,
      `command//${VICTIM}/req/#`,
      `c/DEFAULT/${VICTIM}/q/#`,
      `command/+/${VICTIM}/req/#`,
      'command/+/+/req/#',
      'command/DEFAULT/+/req/#',
      'command/#',
      '#',
      '+/+/+',
      `e/DEFAULT/${VICTIM}`,
      `event/DEFAULT/${VICTIM}/#`,
      `t/DEFAULT/${VICTIM}`,
    ],
    { minLength: 1, maxLength: 4 },
  );

  /** The victim's report and response topics, and the rogue's own carrying the victim's thing. */
  const forgedTopicArb = fc.constantFrom(
    `e/DEFAULT/${VICTIM}`,
    `event/DEFAULT/${VICTIM}`,
    `t/DEFAULT/${VICTIM}`,
    `telemetry/DEFAULT/${VICTIM}`,
    `e//${VICTIM}`,
    `command//${VICTIM}/res/x/200`,
    `command/DEFAULT/${VICTIM}/res/x/200`,
    `e/DEFAULT/${DEVICE}`,
    'e',
  );

  const statusArb = fc.constantFrom(
    'FINISHED_SUCCESS',
    'FINISHED_ERROR',
    'FINISHED_CANCELED',
    'FINISHED_REJECTED',
    'CANCEL_REJECTED',
    'DOWNLOADING',
    'INSTALLED',
  );

  it('refuses subscriptions to its commands, and its forged reports have no effect', async () => {
    await fc.assert(
      fc.asyncProperty(
        filtersArb,
        forgedTopicArb,
        statusArb,
        fc.constantFrom(0 as const, 1 as const),
        async (filters, topic, status, qos) => {
          const before = await snapshot(seeded.backend);
          const rogue = await connect('rogue');
          const closed = new Promise<'closed'>((resolve) =>
            rogue.once('close', () => resolve('closed')),
          );
          // mqtt.js rejects a SUBACK with failures; the packet says which filters were refused.
          const granted = await rogue.subscribeAsync(filters, { qos: 1 }).then(
            (grants) => grants.map((g) => g.qos),
            (error: { packet?: { granted?: unknown[] } }) => error.packet?.granted,
          );
          if (!granted?.every((qos) => qos === 128))
            throw new Error(`subscriptions ${filters.join(' ')} granted ${String(granted)}`);

          const from = outcomes.length;
          const payload = JSON.stringify(
            twinModify({
              thingId: `otaflow:${VICTIM}`,
              path: '/features/SoftwareUpdatable/properties/status/lastOperation',
              value: { correlationId, status },
            }),
          );
          rogue.publish(topic, payload, { qos }, () => {});
          // The observable end: the broker closes the connection, or the commander answers it.
          const seen = until(`the forged ${status} on ${topic}`, () =>
            // The rogue's own topic carries no correlation the commander trusts: any answer to it.
            outcomes.slice(from).find((o) => o.deviceId === DEVICE || o.deviceId === VICTIM),
          );
          const outcome = await Promise.race([closed, seen]);
          if (process.env.FUZZ_TRACE)
            console.info(`forged ${status} on ${topic} qos ${qos}: ${JSON.stringify(outcome)}`);
          await rogue.endAsync(true);
          if (
            outcome !== 'closed' &&
            (outcome.result === 'applied' || outcome.result === 'registered')
          )
            throw new Error(`forged ${status} on ${topic}: ${JSON.stringify(outcome)}`);
          const action = await seeded.backend.service.getAction(actionId);
          if (action?.status !== 'RUNNING' || !action.active)
            throw new Error(`forged ${status} on ${topic} moved the action: ${action?.status}`);
          if ((await snapshot(seeded.backend)) !== before)
            throw new Error(`state changed behind a forged ${status} on ${topic}`);
        },
      ),
      fuzzParameters(Math.min(FUZZ_RUNS, 60)),
    );
  });
});

/** Polls `probe` on every turn of the event loop until it gives a value; 10 s at most. */
async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
