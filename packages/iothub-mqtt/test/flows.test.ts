import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import {
  commandRequestTopic,
  eventTopic,
  FileAgentStateStore,
  type Installer,
  liveMessage,
  twinModify,
} from '../src/index.js';
import { type Fixture, fixture, okInstaller, settled } from './fixture.js';
import { gate, requireBroker, SHARED_BROKER, sharedBrokerUp, unique, waitFor } from './helpers.js';

const up = await requireBroker(
  `Mosquitto on ${SHARED_BROKER.host}:${SHARED_BROKER.port}`,
  sharedBrokerUp,
);
const URL = `mqtt://${SHARED_BROKER.host}:${SHARED_BROKER.port}`;

describe.skipIf(!up)('SoftwareUpdatable flows against Mosquitto', () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  const assign = async (
    fx: Fixture,
    deviceId: string,
    type: 'forced' | 'downloadonly' = 'forced',
  ) => {
    const result = await fx.service.assign(fx.set.id, [{ controllerId: deviceId, type }]);
    return result.actions[0]!.id;
  };
  const statuses = (fx: Fixture, actionId: number) =>
    fx.outcomes.filter((o) => o.actionId === actionId).map((o) => `${o.status}:${o.result}`);

  it('installs: announce registers the device, install runs, FINISHED_SUCCESS makes the target IN_SYNC', async () => {
    f = await fixture(URL);
    const installer = okInstaller();
    const agent = await f.addAgent(unique('dev'), installer);
    const deviceId = agent.options.deviceId;
    expect((await f.service.getTarget(deviceId))?.updateStatus).toBe('REGISTERED');
    const actionId = await assign(f, deviceId);
    const action = await settled(f.service, actionId);
    expect(action.status).toBe('FINISHED');
    expect((await f.service.getTarget(deviceId))?.updateStatus).toBe('IN_SYNC');
    expect(installer.calls).toEqual(['app@1.2.0:app.bin']);
    const history = (await f.service.getActionHistory(actionId))!.map((h) => h.status);
    expect(history).toEqual(
      expect.arrayContaining(['RUNNING', 'DOWNLOAD', 'DOWNLOADED', 'FINISHED']),
    );
    expect(statuses(f, actionId)).toContain('FINISHED_SUCCESS:applied');
    await agent.idle();
    expect(Object.keys(agent.installedDependencies)).toContain('application.app:1.2.0');
    expect(agent.current).toBeUndefined();
  });

  it('reports a failed download (hash mismatch) as FINISHED_ERROR: action and target ERROR', async () => {
    f = await fixture(URL);
    const installer = okInstaller();
    const agent = await f.addAgent(unique('dev'), installer);
    // Same size, other bytes: the checksum check must catch it.
    const path = [...f.server.files.keys()][0]!;
    const file = f.server.files.get(path)!;
    f.server.files.set(path, { body: Buffer.alloc(file.body.length, 0x41) });
    const actionId = await assign(f, agent.options.deviceId);
    const action = await settled(f.service, actionId);
    expect(action.status).toBe('ERROR');
    expect((await f.service.getTarget(agent.options.deviceId))?.updateStatus).toBe('ERROR');
    expect(installer.calls).toEqual([]);
    const history = await f.service.getActionHistory(actionId);
    expect(history!.at(-1)!.messages?.[0]).toMatch(/fail to download module: .*SHA/);
    // lastFailedOperation went out too; the commander reads lastOperation only.
    await waitFor(
      () => f!.outcomes.some((o) => o.reason?.includes('lastFailedOperation')),
      'lastFailedOperation seen',
    );
  });

  it('reports a failed install with the installer status code', async () => {
    f = await fixture(URL);
    const installer: Installer = {
      async install() {
        throw Object.assign(new Error('fail to execute install script'), { statusCode: 3 });
      },
    };
    const agent = await f.addAgent(unique('dev'), installer);
    const actionId = await assign(f, agent.options.deviceId);
    const action = await settled(f.service, actionId);
    expect(action.status).toBe('ERROR');
    expect(action.lastStatusCode).toBe(3);
    expect((await f.service.getTarget(agent.options.deviceId))?.updateStatus).toBe('ERROR');
  });

  it('cancel accepted while downloading: FINISHED_CANCELED closes the action as CANCELED', async () => {
    const slow = gate();
    f = await fixture(URL, { served: { gate: slow.promise } });
    const installer = okInstaller();
    const agent = await f.addAgent(unique('dev'), installer);
    const actionId = await assign(f, agent.options.deviceId);
    await waitFor(
      async () => (await f!.service.getAction(actionId))?.status === 'DOWNLOAD',
      'download started',
    );
    await f.service.cancel(actionId, ['operator cancel']);
    const action = await settled(f.service, actionId);
    slow.open();
    expect(action.status).toBe('CANCELED');
    expect(installer.calls).toEqual([]);
    expect(statuses(f, actionId)).toEqual(
      expect.arrayContaining(['CANCELING:applied', 'FINISHED_CANCELED:applied']),
    );
    expect((await f.service.getTarget(agent.options.deviceId))?.updateStatus).not.toBe('PENDING');
  });

  it('cancel rejected while installing: CANCEL_REJECTED entry, RUNNING again, then the install finishes', async () => {
    f = await fixture(URL);
    const release = gate();
    let installing = false;
    const installer: Installer = {
      async install() {
        installing = true;
        await release.promise;
      },
      cancel: () => false,
    };
    const agent = await f.addAgent(unique('dev'), installer);
    const actionId = await assign(f, agent.options.deviceId);
    await waitFor(
      () => installing && statuses(f!, actionId).includes('INSTALLING:applied'),
      'installing',
    );
    await f.service.cancel(actionId);
    await waitFor(
      async () =>
        ((await f!.service.getActionHistory(actionId)) ?? []).some(
          (entry) => entry.status === 'CANCEL_REJECTED',
        ),
      'cancel rejected',
    );
    // Was CANCEL_REJECTED (the defect of issue 15): hawkBit and ARCHITECTURE.md run it again.
    expect((await f.service.getAction(actionId))?.status).toBe('RUNNING');
    release.open();
    const action = await settled(f.service, actionId);
    expect(action.status).toBe('FINISHED');
    expect((await f.service.getTarget(agent.options.deviceId))?.updateStatus).toBe('IN_SYNC');
  });

  it('download-only: the download command ends the action at DOWNLOADED, nothing is installed', async () => {
    f = await fixture(URL);
    const installer = okInstaller();
    const agent = await f.addAgent(unique('dev'), installer);
    const actionId = await assign(f, agent.options.deviceId, 'downloadonly');
    const action = await settled(f.service, actionId);
    expect(action.status).toBe('DOWNLOADED');
    await agent.idle();
    expect(installer.calls).toEqual([]);
    // The trailing FINISHED_SUCCESS is late for a closed action: core refuses, nothing changes.
    await waitFor(
      () => statuses(f!, actionId).includes('FINISHED_SUCCESS:refused'),
      'late report refused',
    );
    expect((await f.service.getAction(actionId))?.status).toBe('DOWNLOADED');
  });

  it('a device restarted mid-download reports where it stands and completes the update', async () => {
    const slow = gate();
    f = await fixture(URL, { served: { gate: slow.promise } });
    const dir = await mkdtemp(join(tmpdir(), 'otaflow-state-'));
    const store = new FileAgentStateStore(join(dir, 'agent.json'));
    const deviceId = unique('dev');
    const first = await f.addAgent(deviceId, okInstaller(), store);
    const actionId = await assign(f, deviceId);
    await waitFor(
      async () => (await f!.service.getAction(actionId))?.status === 'DOWNLOAD',
      'download started',
    );
    await waitFor(
      async () => (await store.load())?.operation?.lastOperation.status === 'DOWNLOADING',
      'state saved',
    );
    await first.stop({ force: true });
    const before = f.outcomes.length;
    const installer = okInstaller();
    slow.open();
    const second = await f.addAgent(deviceId, installer, store);
    const action = await settled(f.service, actionId);
    expect(action.status).toBe('FINISHED');
    expect(installer.calls).toHaveLength(1);
    const after = f.outcomes.slice(before).filter((o) => o.actionId === actionId);
    expect(after[0]?.status).toBe('DOWNLOADING');
    await second.idle();
    expect((await store.load())?.operation).toBeUndefined();
  });

  it('many devices at once: 50 agents, one assignment, all IN_SYNC', async () => {
    f = await fixture(URL);
    const ids = Array.from({ length: 50 }, (_, i) => unique(`fleet${i}`));
    await Promise.all(ids.map((id) => f!.addAgent(id, okInstaller())));
    const result = await f.service.assign(
      f.set.id,
      ids.map((controllerId) => ({ controllerId })),
    );
    expect(result.assigned).toBe(50);
    for (const action of result.actions)
      expect((await settled(f.service, action.id)).status).toBe('FINISHED');
    for (const id of ids) expect((await f.service.getTarget(id))?.updateStatus).toBe('IN_SYNC');
  }, 60_000);

  it('a malformed command gets a 400 Ditto error and changes nothing', async () => {
    f = await fixture(URL);
    const installer = okInstaller();
    const agent = await f.addAgent(unique('dev'), installer);
    const deviceId = agent.options.deviceId;
    const raw = await mqtt.connectAsync(URL, { clientId: unique('raw') });
    const answers: { topic: string; body: unknown }[] = [];
    raw.on('message', (topic, payload) =>
      answers.push({ topic, body: JSON.parse(payload.toString()) }),
    );
    await raw.subscribeAsync(`command/${f.tenant}/${deviceId}/res/#`, { qos: 1 });
    const address = { tenant: f.tenant, deviceId };
    await raw.publishAsync(commandRequestTopic(address, 'r1', 'install'), 'not json', { qos: 1 });
    const bad = liveMessage({
      thingId: agent.thingId,
      featureId: agent.featureId,
      subject: 'install',
      value: { softwareModules: [] },
    });
    await raw.publishAsync(commandRequestTopic(address, 'r2', 'install'), JSON.stringify(bad), {
      qos: 1,
    });
    await waitFor(() => answers.length === 2, 'two answers');
    expect(answers.map((a) => a.topic).sort()).toEqual([
      `command/${f.tenant}/${deviceId}/res/r1/400`,
      `command/${f.tenant}/${deviceId}/res/r2/400`,
    ]);
    const r2 = answers.find((a) => a.topic.includes('/r2/'))!.body as {
      status: number;
      value: { error: string };
      path: string;
      headers: Record<string, unknown>;
    };
    expect(r2.status).toBe(400);
    expect(r2.value.error).toBe('messages:parameter.invalid');
    expect(r2.path).toBe(`/features/${agent.featureId}/outbox/messages/install`);
    expect(r2.headers['correlation-id']).toBe(bad.headers['correlation-id']);
    await raw.endAsync();
    expect(agent.current).toBeUndefined();
    expect(installer.calls).toEqual([]);
    expect(await f.service.listActions(deviceId)).toEqual([]);
  });

  it('drops malformed and unknown reports, refuses unknown correlationIds, and nothing moves', async () => {
    f = await fixture(URL);
    const release = gate();
    const agent = await f.addAgent(unique('dev'), { install: () => release.promise });
    const deviceId = agent.options.deviceId;
    const actionId = await assign(f, deviceId);
    await waitFor(
      async () =>
        (await f!.service.getAction(actionId))?.status === 'RUNNING' &&
        statuses(f!, actionId).includes('INSTALLING:applied'),
      'installing',
    );
    const correlationId = (await f.service.getAction(actionId))!.refs['suv2.correlationId']!;
    const historyBefore = await f.service.getActionHistory(actionId);
    const raw = await mqtt.connectAsync(URL, { clientId: unique('raw') });
    const topic = eventTopic({ tenant: f.tenant, deviceId });
    const path = '/features/SoftwareUpdatable/properties/status/lastOperation';
    const modify = (value: unknown) =>
      JSON.stringify(twinModify({ thingId: agent.thingId, path, value }));
    const count = f.outcomes.length;
    await raw.publishAsync(topic, '{oops', { qos: 1 });
    await raw.publishAsync(topic, modify({ correlationId, progress: 500 }), { qos: 1 });
    await raw.publishAsync(topic, modify({ correlationId, status: 'DOWNLOADED_FILE_STORED' }), {
      qos: 1,
    });
    await raw.publishAsync(
      topic,
      modify({ correlationId: 'no-such-operation', status: 'FINISHED_SUCCESS' }),
      { qos: 1 },
    );
    await raw.publishAsync(
      topic,
      JSON.stringify(
        twinModify({
          thingId: 'other:thing',
          path,
          value: { correlationId, status: 'FINISHED_ERROR' },
        }),
      ),
      { qos: 1 },
    );
    await waitFor(() => f!.outcomes.length >= count + 5, 'five outcomes');
    await raw.endAsync();
    const got = f.outcomes
      .slice(count, count + 5)
      .map((o) => `${o.result}:${o.reason?.split(':')[0]}`);
    expect(got).toEqual([
      'dropped:payload is not JSON',
      'dropped:invalid lastOperation',
      'ignored:unknown SoftwareUpdatable status DOWNLOADED_FILE_STORED',
      'refused:unknown correlationId',
      'dropped:thing other',
    ]);
    expect(
      f.log.lines.filter((l) => l.level === 'warn' && /report (dropped|refused)/.test(l.message)),
    ).toHaveLength(4);
    expect(await f.service.getActionHistory(actionId)).toEqual(historyBefore);
    release.open();
    expect((await settled(f.service, actionId)).status).toBe('FINISHED');
  });

  it('sendInstall times out when no device answers', async () => {
    f = await fixture(URL);
    await f.service.createTarget({ controllerId: 'ghost', channel: 'ddi' });
    const [action] = (await f.service.assign(f.set.id, [{ controllerId: 'ghost' }])).actions;
    const fast = (await import('../src/index.js')).createCommander({
      ...f.commander.options,
      responseTimeoutMs: 300,
      clientId: unique('c'),
    });
    await fast.start();
    await expect(fast.sendInstall(action!.id)).rejects.toMatchObject({ code: 'RESPONSE_TIMEOUT' });
    await fast.stop();
  });
});
