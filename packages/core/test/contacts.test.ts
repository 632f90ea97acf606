import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryUpdateStore, type TargetContact, UpdateService } from '../src/index.js';

class RecordingStore extends MemoryUpdateStore {
  batches: TargetContact[][] = [];
  fail = false;
  override async touchTargets(contacts: readonly TargetContact[]) {
    if (this.fail) throw new Error('database away');
    this.batches.push([...contacts]);
    return super.touchTargets(contacts);
  }
}

const contactOf = async (service: UpdateService, id: string) =>
  (await service.getTarget(id))?.lastContactAt;

afterEach(() => {
  vi.useRealTimers();
});

describe('poll times written in batches', () => {
  it('writes every touch of one window in one call, the latest time per device', async () => {
    vi.useFakeTimers();
    const store = new RecordingStore();
    const service = new UpdateService({ store, contactFlushMs: 1000 });
    await service.createTarget({ controllerId: 'a' });
    await service.createTarget({ controllerId: 'b' });
    service.touch('a', 10);
    service.touch('b', 11);
    service.touch('a', 12);
    expect(store.batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(store.batches).toEqual([
      [
        { controllerId: 'a', at: 12 },
        { controllerId: 'b', at: 11 },
      ],
    ]);
    expect(await contactOf(service, 'a')).toBe(12);
  });

  it('keeps a failed batch for the next try, and flushContacts writes what waits', async () => {
    const store = new RecordingStore();
    const errors: unknown[] = [];
    const service = new UpdateService({
      store,
      contactFlushMs: 60_000,
      onContactFlushError: (e) => errors.push(e),
    });
    await service.createTarget({ controllerId: 'a' });
    store.fail = true;
    service.touch('a', 20);
    await service.flushContacts();
    expect(errors).toHaveLength(1);
    store.fail = false;
    await service.flushContacts();
    expect(await contactOf(service, 'a')).toBe(20);
    expect(store.batches).toHaveLength(1);
  });

  it('writes at once past 1000 waiting devices', async () => {
    const store = new RecordingStore();
    const service = new UpdateService({ store, contactFlushMs: 60_000 });
    for (let i = 0; i < 1000; i++) service.touch(`d${i}`, i);
    await service.flushContacts();
    expect(store.batches[0]).toHaveLength(1000);
  });
});
