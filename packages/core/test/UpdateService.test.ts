import { describe, expect, it } from 'vitest';
import { type DomainEvent, MemoryUpdateStore, UpdateService } from '../src/index.js';

async function setupService() {
  let now = 1_000;
  const service = new UpdateService({ store: new MemoryUpdateStore(), clock: () => now++ });
  const events: DomainEvent[] = [];
  service.onEvent((e) => {
    events.push(e);
  });
  const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1.0' });
  await service.addArtifact(module.id, {
    filename: 'fw.bin',
    size: 3,
    hashes: { sha1: 'a'.repeat(40), md5: 'b'.repeat(32), sha256: 'c'.repeat(64) },
  });
  const set = await service.createDistributionSet({
    name: 'fw',
    version: '1.0',
    modules: [module.id],
  });
  return { service, events, set };
}

describe('UpdateService', () => {
  it('creates many targets as one unit, and none when one id is known or repeated', async () => {
    const { service, events } = await setupService();
    await service.createTarget({ controllerId: 'known' });
    events.length = 0;
    const created = await service.createTargets([
      { controllerId: 'bulk-1', name: 'first', attributes: { hw: 'a' } },
      { controllerId: 'bulk-2', securityToken: 'secret' },
    ]);
    expect(created.map((t) => [t.controllerId, t.name, t.updateStatus])).toEqual([
      ['bulk-1', 'first', 'UNKNOWN'],
      ['bulk-2', 'bulk-2', 'UNKNOWN'],
    ]);
    expect((await service.requireTarget('bulk-2')).securityToken).toBe('secret');
    expect(events.map((e) => [e.type, 'controllerId' in e && e.controllerId])).toEqual([
      ['TARGET_CREATED', 'bulk-1'],
      ['TARGET_CREATED', 'bulk-2'],
    ]);
    for (const batch of [
      [{ controllerId: 'bulk-3' }, { controllerId: 'known' }],
      [{ controllerId: 'bulk-3' }, { controllerId: 'bulk-4' }, { controllerId: 'bulk-3' }],
    ]) {
      await expect(service.createTargets(batch)).rejects.toMatchObject({ code: 'TARGET_EXISTS' });
    }
    expect(await service.getTarget('bulk-3')).toBeUndefined();
    expect(events).toHaveLength(2);
  });

  it('runs a forced update to IN_SYNC and refuses late reports', async () => {
    const { service, events, set } = await setupService();
    await service.createTarget({ controllerId: 'dev-1' });
    expect((await service.contact('dev-1')).updateStatus).toBe('REGISTERED');
    const { actions } = await service.assign(set.id, [{ controllerId: 'dev-1' }]);
    const action = actions[0]!;
    expect(action.status).toBe('RUNNING');
    expect((await service.getTarget('dev-1'))?.updateStatus).toBe('PENDING');
    for (const type of [
      'action.retrieved',
      'action.download',
      'action.downloaded',
      'action.proceeding',
    ] as const) {
      const r = await service.apply(action.id, { type, at: service.now() });
      expect(r.ok).toBe(true);
    }
    const done = await service.apply(action.id, {
      type: 'action.finished',
      result: 'success',
      at: service.now(),
      code: 200,
    });
    expect(done).toMatchObject({
      ok: true,
      targetStatus: 'IN_SYNC',
      action: { status: 'FINISHED', active: false },
    });
    const late = await service.apply(action.id, {
      type: 'action.finished',
      result: 'failure',
      at: service.now(),
    });
    expect(late).toMatchObject({ ok: false, code: 'ACTION_CLOSED' });
    expect(events.map((e) => e.type)).toContain('UPDATE_ASSIGNMENT');
    const last = events.filter((e) => e.type === 'ACTION_UPDATED').at(-1);
    expect(last).toMatchObject({
      actionStatus: 'FINISHED',
      lastActionStatusCode: '200',
      actionActive: false,
    });
    expect((await service.getActionHistory(action.id))?.map((h) => h.status)).toEqual([
      'RUNNING',
      'RETRIEVED',
      'DOWNLOAD',
      'DOWNLOADED',
      'RUNNING',
      'FINISHED',
    ]);
  });

  it('supersedes an active action with a new assignment and cancels it', async () => {
    const { service, set } = await setupService();
    await service.createTarget({ controllerId: 'dev-2' });
    const first = (await service.assign(set.id, [{ controllerId: 'dev-2' }])).actions[0]!;
    const again = await service.assign(set.id, [{ controllerId: 'dev-2' }]);
    expect(again.alreadyAssigned).toBe(1);
    const set2 = await service.createDistributionSet({
      name: 'fw',
      version: '2.0',
      modules: set.modules,
    });
    const second = (await service.assign(set2.id, [{ controllerId: 'dev-2', weight: 10 }]))
      .actions[0]!;
    expect((await service.getAction(first.id))?.status).toBe('CANCELING');
    expect((await service.nextActionFor('dev-2'))?.kind).toBe('cancel');
    const c = await service.apply(first.id, { type: 'cancel.confirmed', at: service.now() });
    expect(c).toMatchObject({ ok: true, targetStatus: 'PENDING' });
    expect((await service.nextActionFor('dev-2'))?.action.id).toBe(second.id);
  });
});
