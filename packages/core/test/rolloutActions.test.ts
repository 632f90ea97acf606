import { describe, expect, it } from 'vitest';
import { serviceWithSet } from './fixtures.js';

const inGroup = (groupId: number) => ({
  filter: {
    kind: 'cmp' as const,
    field: 'rolloutGroupId',
    op: '==' as const,
    values: [String(groupId)],
  },
  limit: 0,
});

describe('scheduled rollout actions', () => {
  it('wait unseen, supersede nothing, then start once, superseding what ran', async () => {
    const { service, set, set2, events } = await serviceWithSet();
    for (const id of ['r-1', 'r-2']) await service.createTarget({ controllerId: id });
    await service.assign(set.id, [{ controllerId: 'r-1' }]);
    const [running] = await service.listActions('r-1');
    const scheduled = await service.assignBatch(set2, [
      { controllerId: 'r-1', scheduled: true, rolloutId: 7, rolloutGroupId: 70 },
      { controllerId: 'r-2', scheduled: true, rolloutId: 7, rolloutGroupId: 70 },
    ]);
    const ids = scheduled.map((s) => s!.action.id);
    expect(scheduled.map((s) => s?.action.status)).toEqual(['SCHEDULED', 'SCHEDULED']);
    // Devices still see what ran before; the scheduled one is not theirs yet.
    expect((await service.getAction(running!.id))?.status).toBe('RUNNING');
    expect((await service.nextActionFor('r-1'))?.action.id).toBe(running!.id);
    expect(await service.nextActionFor('r-2')).toBeUndefined();
    expect((await service.getTarget('r-2'))?.updateStatus).not.toBe('PENDING');
    expect((await service.pageActions(inGroup(70))).total).toBe(2);
    expect((await service.pageActions(inGroup(71))).total).toBe(0);

    const before = events.length;
    const started = await service.startScheduled(ids);
    expect(started.map((a) => a.status)).toEqual(['RUNNING', 'RUNNING']);
    expect((await service.getAction(running!.id))?.status).toBe('CANCELING');
    expect((await service.getTarget('r-2'))?.updateStatus).toBe('PENDING');
    expect((await service.getTarget('r-2'))?.assignedDistributionSetId).toBe(set2.id);
    const assignments = events.slice(before).filter((e) => e.type === 'UPDATE_ASSIGNMENT');
    expect(assignments).toHaveLength(1);
    expect(assignments[0]).toMatchObject({
      distributionSetId: set2.id,
      targets: [{ controllerId: 'r-1' }, { controllerId: 'r-2' }],
    });
    // A second start (another backend, a retried round) changes nothing and says nothing.
    const again = events.length;
    expect(await service.startScheduled(ids)).toEqual([]);
    expect(events.length).toBe(again);
    expect((await service.getAction(ids[0]!))?.rolloutGroupId).toBe(70);
  });
});
