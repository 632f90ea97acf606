import { describe, expect, it } from 'vitest';
import { MemoryUpdateStore, OtaflowError, type UpdateStore } from '../src/index.js';
import type { TargetRecord } from '../src/records.js';
import { serviceWithSet } from './fixtures.js';

function target(controllerId: string, version = 0): TargetRecord {
  return {
    controllerId,
    name: controllerId,
    securityToken: 'token',
    attributes: {},
    requestAttributes: false,
    version,
    state: { value: 'unknown', context: {} } as unknown as TargetRecord['state'],
  };
}

/**
 * A memory store whose units fail at one named write, as a database that goes away in the middle
 * of a transaction would: everything the unit wrote before must vanish with it.
 */
class FailingStore extends MemoryUpdateStore {
  failOn: keyof UpdateStore | undefined;
  override transaction<T>(work: (tx: UpdateStore) => Promise<T>): Promise<T> {
    return super.transaction((tx) => {
      const failOn = this.failOn;
      const faulty = new Proxy(tx, {
        get(target, property) {
          if (property === failOn)
            return async () => {
              throw new Error('connection lost');
            };
          if (property === 'transaction')
            return <U>(inner: (t: UpdateStore) => Promise<U>) => inner(faulty);
          const value = Reflect.get(target, property);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      return work(faulty);
    });
  }
}

describe('MemoryUpdateStore transactions', () => {
  it('commits every write of a unit together', async () => {
    const store = new MemoryUpdateStore();
    await store.transaction(async (tx) => {
      await tx.putTarget(target('a'), -1);
      await tx.putTarget(target('a', 1), 0);
      // The unit reads its own writes; the store does not see them yet.
      expect((await tx.getTarget('a'))?.version).toBe(1);
      expect(await store.getTarget('a')).toBeUndefined();
      expect((await tx.listTargets()).total).toBe(1);
    });
    expect((await store.getTarget('a'))?.version).toBe(1);
  });

  it('rolls every write back when the unit throws, and rethrows', async () => {
    const store = new MemoryUpdateStore();
    await store.putTarget(target('kept'), -1);
    const error = await store
      .transaction(async (tx) => {
        await tx.putTarget(target('new'), -1);
        await tx.deleteTarget('kept');
        throw new Error('boom');
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'boom' });
    expect(await store.getTarget('new')).toBeUndefined();
    expect(await store.getTarget('kept')).toBeDefined();
  });

  it('joins a nested unit to the outer one', async () => {
    const store = new MemoryUpdateStore();
    await store
      .transaction(async (tx) => {
        await tx.transaction(async (inner) => inner.putTarget(target('n'), -1));
        expect(await store.getTarget('n')).toBeUndefined();
        throw new Error('outer fails');
      })
      .catch(() => {});
    expect(await store.getTarget('n')).toBeUndefined();
  });

  it('refuses the whole unit with CONFLICT when another writer committed first', async () => {
    const store = new MemoryUpdateStore();
    await store.putTarget(target('c'), -1);
    const error = await store
      .transaction(async (tx) => {
        await tx.putTarget(target('other'), -1);
        await tx.putTarget(target('c', 1), 0);
        await store.putTarget(target('c', 1), 0); // another process, in between
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OtaflowError);
    expect(error).toMatchObject({ code: 'CONFLICT' });
    expect(await store.getTarget('other')).toBeUndefined();
  });
});

describe('UpdateService units of work', () => {
  it('leaves nothing half-written when an assignment fails in the middle', async () => {
    const store = new FailingStore();
    const { service, set, set2 } = await serviceWithSet({ store });
    await service.createTarget({ controllerId: 'dev-t' });
    const [first] = (await service.assign(set.id, [{ controllerId: 'dev-t' }])).actions;
    const before = await store.getTarget('dev-t');
    // The cancel of the first action and the new action are staged; the target's write fails.
    store.failOn = 'putTarget';
    await expect(service.assign(set2.id, [{ controllerId: 'dev-t' }])).rejects.toThrow(
      'connection lost',
    );
    const actions = await service.listActions('dev-t');
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ id: first!.id, status: 'RUNNING', active: true });
    expect(await store.getTarget('dev-t')).toEqual(before);
    // The same assignment goes through once the store works again.
    store.failOn = undefined;
    const retried = await service.assign(set2.id, [{ controllerId: 'dev-t' }]);
    expect(retried.assigned).toBe(1);
    expect((await service.getAction(first!.id))?.status).toBe('CANCELING');
  });

  it('keeps a closing report and its target together', async () => {
    const store = new FailingStore();
    const { service, set } = await serviceWithSet({ store });
    await service.createTarget({ controllerId: 'dev-f' });
    const [action] = (await service.assign(set.id, [{ controllerId: 'dev-f' }])).actions;
    store.failOn = 'putTarget';
    await expect(
      service.apply(action!.id, { type: 'action.finished', result: 'success', at: service.now() }),
    ).rejects.toThrow('connection lost');
    expect((await service.getAction(action!.id))?.status).toBe('RUNNING');
    expect((await service.getTarget('dev-f'))?.updateStatus).toBe('PENDING');
    store.failOn = undefined;
    const done = await service.apply(action!.id, {
      type: 'action.finished',
      result: 'success',
      at: service.now(),
    });
    expect(done).toMatchObject({
      ok: true,
      targetStatus: 'IN_SYNC',
      action: { status: 'FINISHED' },
    });
  });
});

describe('domain events of a unit of work', () => {
  it('reach listeners only after the unit committed, so a listener can read what they name', async () => {
    const { service, set } = await serviceWithSet();
    await service.createTarget({ controllerId: 'dev-e', name: 'dev-e' });
    const seen: Array<{ type: string; stored: boolean }> = [];
    const reads: Promise<void>[] = [];
    service.onEvent((event) => {
      if (event.type !== 'ACTION_CREATED' && event.type !== 'TARGET_UPDATED') return;
      // What the Huawei dispatcher and the SIE relay do: read the store on hearing the event.
      const read =
        event.type === 'ACTION_CREATED'
          ? service.getAction(event.actionId).then((a) => a !== undefined)
          : service
              .getTarget(event.controllerId)
              .then((t) => t?.updateStatus === (event as { updateStatus: string }).updateStatus);
      reads.push(read.then((stored) => void seen.push({ type: event.type, stored })));
    });
    await service.assign(set.id, [{ controllerId: 'dev-e' }]);
    await Promise.all(reads);
    expect(seen).toEqual([
      { type: 'ACTION_CREATED', stored: true },
      { type: 'TARGET_UPDATED', stored: true },
    ]);
  });

  it('are never sent for a unit that rolled back', async () => {
    const store = new FailingStore();
    const { service, set, events } = await serviceWithSet({ store });
    await service.createTarget({ controllerId: 'dev-r', name: 'dev-r' });
    const before = events.length;
    store.failOn = 'putTarget';
    await expect(service.assign(set.id, [{ controllerId: 'dev-r' }])).rejects.toThrow();
    expect(events.slice(before).map((e) => e.type)).toEqual([]);
    store.failOn = undefined;
    await service.assign(set.id, [{ controllerId: 'dev-r' }]);
    expect(events.slice(before).map((e) => e.type)).toEqual([
      'ACTION_CREATED',
      'TARGET_UPDATED',
      'UPDATE_ASSIGNMENT',
    ]);
  });
});
