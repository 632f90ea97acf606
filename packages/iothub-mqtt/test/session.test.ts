import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { MemoryUpdateStore, UpdateService, type UpdateStore } from '@otaflow/core';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Commander,
  createCommander,
  eventTopic,
  type ReportOutcome,
  refusesMqtt5,
  statusPropertyPath,
  twinModify,
} from '../src/index.js';
import { fixture, okInstaller, settled } from './fixture.js';
import {
  assignedWithCorrelation,
  mosquittoBinary,
  OwnBroker,
  requireBroker,
  SHARED_BROKER,
  sharedBrokerUp,
  unique,
  waitFor,
} from './helpers.js';

const own = await requireBroker('/usr/sbin/mosquitto (own broker on a free port)', mosquittoBinary);
const shared = await requireBroker(
  `Mosquitto on ${SHARED_BROKER.host}:${SHARED_BROKER.port}`,
  sharedBrokerUp,
);
const SHARED_URL = `mqtt://${SHARED_BROKER.host}:${SHARED_BROKER.port}`;

/** The part of aedes the test uses (its types are apps/backend's, not this package's). */
interface AedesModule {
  Aedes: {
    createBroker(): Promise<{
      handle: (socket: import('node:net').Socket) => void;
      close(cb: () => void): void;
    }>;
  };
}
// aedes speaks 3.1.1 only; it is a dependency of apps/backend, borrowed here when present.
const aedes = await (async () => {
  try {
    const require = createRequire(new URL('../../../apps/backend/package.json', import.meta.url));
    return (await import(require.resolve('aedes'))) as AedesModule;
  } catch {
    return undefined;
  }
})();
const haveAedes = await requireBroker('aedes (from apps/backend)', aedes !== undefined);

const SEQUENCE = [
  'STARTED',
  'DOWNLOADING:0',
  'DOWNLOADING:50',
  'DOWNLOADING:100',
  'DOWNLOADED',
  'INSTALLING:0',
  'INSTALLING:100',
  'INSTALLED',
  'FINISHED_SUCCESS',
];

/** Devices as bare MQTT clients, so the test decides exactly what is published and when. */
async function rawFleet(store: UpdateStore, count: number, tenant: string) {
  const ids = Array.from({ length: count }, (_, i) => `${tenant}-d${i}`);
  const correlation = (i: number) => `corr-${tenant}-${i}`;
  const { service, actions } = await assignedWithCorrelation(ids, correlation, store);
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
  const clients: MqttClient[] = [];
  return {
    service,
    ids,
    actions,
    clients,
    async connect(url: string) {
      clients.push(
        ...(await Promise.all(ids.map((id) => mqtt.connectAsync(url, { clientId: unique(id) })))),
      );
    },
    /** Every device publishes these steps, QoS 1, all devices at once. */
    async publish(steps: string[]) {
      await Promise.all(
        clients.map(async (client, i) => {
          for (const step of steps)
            await client.publishAsync(
              eventTopic({ tenant, deviceId: ids[i] as string }),
              report(i, step),
              { qos: 1 },
            );
        }),
      );
    },
    async close() {
      await Promise.all(clients.map((c) => c.endAsync()));
    },
  };
}

describe.skipIf(!own)('commander session and flow control', () => {
  let broker: OwnBroker | undefined;
  let commander: Commander | undefined;
  let closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await commander?.stop();
    for (const close of closers) await close();
    await broker?.stop();
    commander = undefined;
    broker = undefined;
    closers = [];
  });

  it('loses no report of a burst from many devices on a broker with small queues', async () => {
    // 20 in flight and 1000 queued were the defaults that lost reports; these are far smaller.
    broker = await OwnBroker.create('', { maxInflight: 2, maxQueued: 5 });
    const tenant = unique('burst');
    const fleet = await rawFleet(new MemoryUpdateStore(), 100, tenant);
    closers.push(() => fleet.close());
    commander = createCommander({
      url: broker.url,
      service: fleet.service,
      tenant,
      artifactUrl: () => 'http://127.0.0.1/unused',
    });
    const outcomes: ReportOutcome[] = [];
    commander.onReport((o) => outcomes.push(o));
    await commander.start();
    expect(commander.protocolVersion).toBe(5);
    await fleet.connect(broker.url);
    await fleet.publish(SEQUENCE);
    const total = fleet.ids.length * SEQUENCE.length;
    await waitFor(() => outcomes.length >= total, `${total} reports`, 30_000);
    expect(outcomes.filter((o) => o.result === 'applied')).toHaveLength(total);
    for (const action of fleet.actions)
      expect((await fleet.service.getAction(action.id))?.status).toBe('FINISHED');
  });
});

describe.skipIf(!shared)('acknowledgement after processing', () => {
  let commander: Commander | undefined;
  let closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await commander?.stop();
    for (const close of closers) await close();
    commander = undefined;
    closers = [];
  });

  it('acknowledges a report only once applied: a commander killed mid-way loses none', async () => {
    const tenant = unique('crash');
    const clientId = unique('commander');
    const base = new MemoryUpdateStore();
    // The first commander's core never gets its writes done: it "dies" with reports in its queue.
    let frozen = false;
    const freezing = new Proxy(base, {
      get(target, key) {
        const value = Reflect.get(target, key, target);
        if (key === 'putAction' && frozen) return () => new Promise(() => {});
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const fleet = await rawFleet(freezing, 10, tenant);
    closers.push(() => fleet.close());
    const options = {
      url: SHARED_URL,
      tenant,
      artifactUrl: () => 'http://127.0.0.1/unused',
      clientId,
    };
    const first = createCommander({ ...options, service: fleet.service });
    const seen: ReportOutcome[] = [];
    first.onReport((o) => seen.push(o));
    await first.start();
    await fleet.connect(SHARED_URL);
    frozen = true;
    const before = SEQUENCE.slice(0, 5);
    await fleet.publish(before); // PUBACKed by the broker: the devices are done with them
    // Each device's first report hangs in core, the others wait behind it, nothing is acked.
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toHaveLength(0);
    // Killed: the socket goes, no DISCONNECT, no more reconnects.
    first.client?.stream.destroy();
    first.client?.end(true);

    const service = new UpdateService({ store: base });
    commander = createCommander({ ...options, service });
    const outcomes: ReportOutcome[] = [];
    commander.onReport((o) => outcomes.push(o));
    await commander.start();
    await fleet.publish(SEQUENCE.slice(5));
    const total = fleet.ids.length * SEQUENCE.length;
    await waitFor(() => outcomes.length >= total, `${total} reports`, 20_000);
    expect(outcomes.filter((o) => o.result === 'applied')).toHaveLength(total);
    for (const action of fleet.actions) {
      const view = await service.getAction(action.id);
      expect(view?.status).toBe('FINISHED');
      const messages = ((await service.getActionHistory(action.id)) ?? []).flatMap(
        (h) => h.messages ?? [],
      );
      // Every report once: the three progress steps sent before the kill are each there once.
      expect(messages.filter((m) => m.startsWith('DOWNLOADING'))).toEqual([
        'DOWNLOADING 0%',
        'DOWNLOADING 50%',
        'DOWNLOADING 100%',
      ]);
    }
    expect((await service.getTarget(fleet.ids[0] as string))?.updateStatus).toBe('IN_SYNC');
  });
});

describe('MQTT 3.1.1 fallback', () => {
  it('decides to fall back on a protocol refusal or a silent hang-up only', () => {
    expect(refusesMqtt5({ errorCode: 1 })).toBe(true); // 3.1.1 CONNACK: unacceptable protocol version
    expect(refusesMqtt5({ errorCode: 132 })).toBe(true); // MQTT 5: unsupported protocol version
    expect(refusesMqtt5({ closedWithoutConnack: true })).toBe(true);
    expect(refusesMqtt5({ errorCode: 'ECONNREFUSED', closedWithoutConnack: true })).toBe(false);
    expect(refusesMqtt5({ errorCode: 5 })).toBe(false); // not authorized
    expect(refusesMqtt5({ errorCode: 135 })).toBe(false);
  });

  it.skipIf(!haveAedes)(
    'connects with 3.1.1 to a broker that refuses MQTT 5, and the update completes',
    async () => {
      const broker = await (aedes as AedesModule).Aedes.createBroker();
      const server: Server = createServer(broker.handle);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
      const f = await fixture(url);
      try {
        expect(f.commander.protocolVersion).toBe(4);
        const deviceId = unique('aedes-dev');
        await f.addAgent(deviceId, okInstaller());
        const [action] = (await f.service.assign(f.set.id, [{ controllerId: deviceId }])).actions;
        expect((await settled(f.service, action!.id)).status).toBe('FINISHED');
      } finally {
        await f.close();
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        server.close();
      }
    },
  );
});

describe.skipIf(!shared)('several backends on one broker', () => {
  let closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
    closers = [];
  });

  it('shares the reports between commanders of one group: each report reaches one', async () => {
    const tenant = unique('group');
    const store = new MemoryUpdateStore();
    const fleet = await rawFleet(store, 20, tenant);
    closers.push(() => fleet.close());
    // Two backends on one database: a service each over the same store, a client id each.
    const outcomes: ReportOutcome[][] = [[], []];
    for (const k of [0, 1]) {
      const commander = createCommander({
        url: SHARED_URL,
        service: k === 0 ? fleet.service : new UpdateService({ store }),
        tenant,
        artifactUrl: () => 'http://127.0.0.1/unused',
        clientId: unique(`commander-${k}`),
        shareGroup: `otaflow-${tenant}`,
      });
      commander.onReport((o) => outcomes[k]!.push(o));
      await commander.start();
      closers.push(() => commander.stop());
    }
    await fleet.connect(SHARED_URL);
    const steps = ['STARTED', 'DOWNLOADING:0', 'DOWNLOADED', 'INSTALLED'];
    await fleet.publish(steps);
    const total = fleet.ids.length * steps.length;
    await waitFor(
      () => outcomes[0]!.length + outcomes[1]!.length >= total,
      `${total} reports`,
      30_000,
    );
    expect(outcomes[0]!.length).toBeGreaterThan(0);
    expect(outcomes[1]!.length).toBeGreaterThan(0);
    await fleet.publish(['FINISHED_SUCCESS']);
    for (const action of fleet.actions)
      await waitFor(
        async () => (await fleet.service.getAction(action.id))?.status === 'FINISHED',
        `action ${action.id} FINISHED`,
        30_000,
      );
    // Nothing arrives twice: the broker gave every report to one member of the group.
    expect(outcomes[0]!.length + outcomes[1]!.length).toBe(total + fleet.ids.length);
  });
});
