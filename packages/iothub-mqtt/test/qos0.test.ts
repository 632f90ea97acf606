import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Commander,
  commandResponseTopic,
  commandSubscription,
  createCommander,
  createDeviceAgent,
  type DeviceAgent,
  defaultThingIdOf,
  parseHonoTopic,
  type ReportOutcome,
  statusPropertyPath,
  telemetryTopic,
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

/** Hono takes telemetry and command responses at QoS 0 (its default for telemetry). */
describe.skipIf(!up)('QoS 0 reports and command responses (Mosquitto)', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function setup() {
    const tenant = unique('qos0');
    const deviceId = unique('dev');
    const correlationId = unique('corr');
    const { service, actions } = await assignedWithCorrelation([deviceId], () => correlationId);
    const commander: Commander = createCommander({
      url: URL,
      service,
      tenant,
      artifactUrl: () => 'http://127.0.0.1/none',
      responseTimeoutMs: 5000,
      clientId: unique('commander'),
    });
    const outcomes: ReportOutcome[] = [];
    commander.onReport((o) => outcomes.push(o));
    await commander.start();
    closers.push(() => commander.stop());
    return {
      tenant,
      deviceId,
      correlationId,
      service,
      commander,
      outcomes,
      actionId: actions[0]!.id,
    };
  }

  it('a lastOperation published at QoS 0 on telemetry moves the action to FINISHED', async () => {
    const { tenant, deviceId, correlationId, service, outcomes, actionId } = await setup();
    const client = await mqtt.connectAsync(URL, { clientId: unique('raw') });
    closers.push(() => client.endAsync(true));
    const report = (status: string) =>
      JSON.stringify(
        twinModify({
          thingId: defaultThingIdOf(deviceId),
          path: statusPropertyPath('SoftwareUpdatable', 'lastOperation'),
          value: { correlationId, status },
        }),
      );
    const topic = telemetryTopic({ tenant, deviceId });
    await client.publishAsync(topic, report('INSTALLING'), { qos: 0 });
    await client.publishAsync(topic, report('FINISHED_SUCCESS'), { qos: 0 });
    await waitFor(() => outcomes.find((o) => o.status === 'FINISHED_SUCCESS'), 'the final report');
    expect(outcomes.map((o) => `${o.status}:${o.result}`)).toEqual([
      'INSTALLING:applied',
      'FINISHED_SUCCESS:applied',
    ]);
    const view = await service.getAction(actionId);
    expect(view?.status).toBe('FINISHED');
    expect((await service.getTarget(deviceId))?.updateStatus).toBe('IN_SYNC');
  });

  it('a command response published at QoS 0 answers the command', async () => {
    const { tenant, deviceId, commander, actionId } = await setup();
    const client = await mqtt.connectAsync(URL, { clientId: unique('raw') });
    closers.push(() => client.endAsync(true));
    client.on('message', (topic) => {
      const parsed = parseHonoTopic(topic);
      if (parsed?.kind !== 'command') return;
      client.publish(commandResponseTopic({ tenant, deviceId }, parsed.requestId, 204), '{}', {
        qos: 0,
      });
    });
    await client.subscribeAsync(commandSubscription({ tenant, deviceId }), { qos: 0 });
    const result = await commander.sendInstall(actionId);
    expect(result.status).toBe(204);
  });

  it('a device agent reporting at QoS 0 on telemetry gets from install to FINISHED', async () => {
    const { tenant, deviceId, commander, service, actionId } = await setup();
    const agent: DeviceAgent = createDeviceAgent({
      url: URL,
      tenant,
      deviceId,
      softwareModuleType: 'application',
      reportOn: 'telemetry',
      qos: 0,
      installer: { async install() {} },
    });
    closers.push(() => agent.stop({ force: true }));
    await agent.start();
    await commander.sendInstall(actionId);
    const done = await waitFor(async () => {
      const view = await service.getAction(actionId);
      return view && !view.active ? view : undefined;
    }, 'the action to close');
    expect(done.status).toBe('FINISHED');
  });
});
