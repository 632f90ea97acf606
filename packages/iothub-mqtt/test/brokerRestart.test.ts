import { afterAll, describe, expect, it } from 'vitest';
import { fixture, okInstaller, settled } from './fixture.js';
import { gate, mosquittoBinary, OwnBroker, requireBroker, unique, waitFor } from './helpers.js';

const up = await requireBroker('/usr/sbin/mosquitto (own broker on a free port)', mosquittoBinary);

describe.skipIf(!up)('a broker that goes away and comes back', () => {
  let broker: OwnBroker | undefined;
  afterAll(async () => broker?.stop());

  it('loses no QoS 1 report and the update completes', async () => {
    broker = await OwnBroker.create('', { persistence: true });
    const slow = gate();
    // A fixed client id and clean: false let the broker keep the commander's session across restarts.
    const f = await fixture(broker.url, {
      served: { gate: slow.promise },
      commanderClientId: unique('commander'),
    });
    try {
      const installer = okInstaller();
      const deviceId = unique('dev');
      const agent = await f.addAgent(deviceId, installer);
      const [created] = (await f.service.assign(f.set.id, [{ controllerId: deviceId }])).actions;
      const actionId = created!.id;
      await waitFor(
        async () => (await f.service.getAction(actionId))?.status === 'DOWNLOAD',
        'download started',
      );
      const seenBefore = f.outcomes.filter((o) => o.actionId === actionId).length;

      await broker.stop();
      // While the broker is away the device finishes; its reports wait in the agent's outbox.
      slow.open();
      await waitFor(() => installer.calls.length === 1, 'installed offline');
      await agent.idle();
      expect(agent.client?.connected).toBe(false);
      expect(agent.pendingReports).toBeGreaterThanOrEqual(5);
      await broker.start();

      const action = await settled(f.service, actionId);
      expect(action.status).toBe('FINISHED');
      expect((await f.service.getTarget(deviceId))?.updateStatus).toBe('IN_SYNC');
      const reports = f.outcomes.filter((o) => o.actionId === actionId).map((o) => o.status);
      expect(reports.length).toBeGreaterThan(seenBefore);
      // Every step the device took offline arrived, in order.
      const offline = reports.slice(seenBefore);
      expect(offline).toEqual(
        expect.arrayContaining(['DOWNLOADED', 'INSTALLING', 'INSTALLED', 'FINISHED_SUCCESS']),
      );
      expect(offline.indexOf('DOWNLOADED')).toBeLessThan(offline.indexOf('FINISHED_SUCCESS'));
      expect(offline.filter((s) => s === 'FINISHED_SUCCESS')).toHaveLength(1);
    } finally {
      await f.close();
    }
  });
});
