import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  type DomainEvent,
  MemoryUpdateStore,
  type OutboxEntry,
  OutboxRelay,
  outboxOf,
  UpdateService,
  type UpdateStore,
} from '../src/index.js';
import { serviceWithSet } from './fixtures.js';

const event = (n: number): DomainEvent => ({
  type: 'TARGET_UPDATED',
  controllerId: `dev-${n}`,
  updateStatus: 'PENDING',
  timestamp: n,
});

/** A memory store whose units fail at one named write, as a database that goes away would. */
class FailingStore extends MemoryUpdateStore {
  failOn: keyof UpdateStore | undefined;
  override transaction<T>(work: (tx: UpdateStore) => Promise<T>): Promise<T> {
    return super.transaction((tx) => {
      const failOn = this.failOn;
      const faulty: UpdateStore = new Proxy(tx, {
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

async function drain(store: UpdateStore, channel: string): Promise<OutboxEntry[]> {
  return outboxOf(store).claimOutbox({ channel, limit: 10_000, owner: 'test', leaseMs: 60_000 });
}

describe('UpdateService with an outbox', () => {
  it('writes every event it sends, once per channel, in the order listeners hear them', async () => {
    const { service, store, events, set, set2 } = await serviceWithSet({
      outbox: { channels: ['sie', 'commands'] },
    });
    await service.createTarget({ controllerId: 'a' });
    await service.contact('b', { autoRegister: true });
    await service.contact('b'); // a plain poll: no event
    await service.updateTarget('a', { name: 'Kitchen' });
    const [first] = (await service.assign(set.id, [{ controllerId: 'a' }, { controllerId: 'b' }]))
      .actions;
    await service.apply(first!.id, { type: 'action.download', at: 1 });
    await service.apply(first!.id, { type: 'action.proceeding', at: 2 }); // no status change
    await service.apply(first!.id, { type: 'action.finished', result: 'success', at: 3 });
    const [soft] = (await service.assign(set2.id, [{ controllerId: 'a', type: 'soft' }])).actions;
    await service.forceAction(soft!.id);
    const scheduled = await service.scheduleBatch(set2, [{ controllerId: 'b', rolloutId: 1 }]);
    await service.startScheduled(scheduled.map((a) => a.id));
    await service.deleteTarget('a');

    expect(events.map((e) => e.type)).toContain('UPDATE_ASSIGNMENT');
    for (const channel of ['sie', 'commands'])
      expect((await drain(store, channel)).map((e) => e.event)).toEqual(events);
  });

  it('writes nothing for a unit that rolled back, and listeners hear nothing of it', async () => {
    const store = new FailingStore();
    const { service, events, set } = await serviceWithSet({
      store,
      outbox: { channels: ['sie'] },
    });
    await service.createTarget({ controllerId: 'a' });
    const before = events.length;
    store.failOn = 'putTarget';
    await expect(service.assign(set.id, [{ controllerId: 'a' }])).rejects.toThrow(
      'connection lost',
    );
    await expect(service.updateTarget('a', { name: 'x' })).rejects.toThrow('connection lost');
    store.failOn = undefined;
    expect(events.length).toBe(before);
    expect((await drain(store, 'sie')).map((e) => e.event)).toEqual(events);
  });

  it('refuses an outbox over a store that keeps none', () => {
    const bare = new MemoryUpdateStore();
    const store = new Proxy(bare, {
      get: (target, property) => {
        if (property === 'appendOutbox') return undefined;
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    expect(() => new UpdateService({ store, outbox: { channels: ['sie'] } })).toThrow(
      expect.objectContaining({ code: 'OUTBOX_UNSUPPORTED' }),
    );
  });
});

describe('memory outbox', () => {
  it('leases a claim: others skip it until it runs out, its holder may take it again', async () => {
    let now = 0;
    const outbox = outboxOf(new MemoryUpdateStore({ clock: () => now }));
    await outbox.appendOutbox([1, 2, 3].map((n) => ({ channel: 'sie', event: event(n) })));
    await outbox.appendOutbox([{ channel: 'other', event: event(4) }]);
    const a = await outbox.claimOutbox({ channel: 'sie', limit: 2, owner: 'a', leaseMs: 100 });
    expect(a.map((e) => e.event.timestamp)).toEqual([1, 2]);
    const b = await outbox.claimOutbox({ channel: 'sie', limit: 5, owner: 'b', leaseMs: 100 });
    expect(b.map((e) => e.event.timestamp)).toEqual([3]);
    expect(
      await outbox.claimOutbox({ channel: 'sie', limit: 5, owner: 'a', leaseMs: 100 }),
    ).toHaveLength(2);
    now = 250;
    expect(await outbox.outboxStats()).toEqual([
      { channel: 'other', depth: 1, oldestAgeMs: 250 },
      { channel: 'sie', depth: 3, oldestAgeMs: 250 },
    ]);
    const again = await outbox.claimOutbox({ channel: 'sie', limit: 5, owner: 'b', leaseMs: 100 });
    expect(again.map((e) => e.id)).toEqual([...a, ...b].map((e) => e.id).sort((x, y) => x - y));
    // a's lease ran out and b holds them now: a's late completion deletes nothing.
    expect(
      await outbox.completeOutbox(
        a.map((e) => e.id),
        'a',
      ),
    ).toBe(0);
    expect(
      await outbox.completeOutbox(
        again.map((e) => e.id),
        'b',
      ),
    ).toBe(3);
  });

  it('never completes an entry twice, and every entry is completed in the end (property)', async () => {
    type Op =
      | { kind: 'append'; n: number }
      | { kind: 'claim'; owner: 0 | 1; limit: number }
      | { kind: 'complete'; owner: 0 | 1; keep: number }
      | { kind: 'tick'; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 4 }) }),
      fc.record({
        kind: fc.constant('claim' as const),
        owner: fc.constantFrom(0 as const, 1 as const),
        limit: fc.integer({ min: 1, max: 5 }),
      }),
      fc.record({
        kind: fc.constant('complete' as const),
        owner: fc.constantFrom(0 as const, 1 as const),
        keep: fc.integer({ min: 0, max: 3 }),
      }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 150 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        let now = 0;
        const outbox = outboxOf(new MemoryUpdateStore({ clock: () => now }));
        const owners = ['a', 'b'] as const;
        const held: [OutboxEntry[], OutboxEntry[]] = [[], []];
        let appended = 0;
        let completed = 0;
        const claim = (owner: 0 | 1, limit: number) =>
          outbox.claimOutbox({ channel: 'c', limit, owner: owners[owner], leaseMs: 100 });
        for (const o of ops) {
          if (o.kind === 'append') {
            await outbox.appendOutbox(
              Array.from({ length: o.n }, (_, i) => ({ channel: 'c', event: event(i) })),
            );
            appended += o.n;
          } else if (o.kind === 'claim') held[o.owner] = await claim(o.owner, o.limit);
          else if (o.kind === 'complete') {
            // A relay completes what it claimed last, or part of it (a crash midway).
            const ids = held[o.owner].slice(o.keep).map((e) => e.id);
            completed += await outbox.completeOutbox(ids, owners[o.owner]);
            held[o.owner] = [];
          } else now += o.ms;
        }
        // Both relays die; after the lease, one takes over and delivers the rest.
        now += 1000;
        for (;;) {
          const batch = await claim(0, 7);
          if (batch.length === 0) break;
          completed += await outbox.completeOutbox(
            batch.map((e) => e.id),
            'a',
          );
        }
        expect(completed).toBe(appended);
        expect(await outbox.outboxStats()).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('OutboxRelay', () => {
  async function filled(n: number, clock?: () => number) {
    const store = new MemoryUpdateStore(clock ? { clock } : {});
    await outboxOf(store).appendOutbox(
      Array.from({ length: n }, (_, i) => ({ channel: 'sie', event: event(i + 1) })),
    );
    return store;
  }

  it('hands bounded batches to its sink and completes each once the sink resolved', async () => {
    const store = await filled(5);
    const batches: number[][] = [];
    const relay = new OutboxRelay({
      store,
      channel: 'sie',
      batchSize: 2,
      sink: async (entries) => {
        batches.push(entries.map((e) => e.event.timestamp));
      },
    }).start();
    await vi.waitFor(() => expect(relay.stats().delivered).toBe(5));
    await relay.stop();
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    expect(await relay.backlog()).toEqual({ channel: 'sie', depth: 0, oldestAgeMs: 0 });
  });

  it('retries a batch its sink refused, with backoff, until it is taken', async () => {
    const store = await filled(3);
    let tries = 0;
    const errors: unknown[] = [];
    const delivered: number[] = [];
    const relay = new OutboxRelay({
      store,
      channel: 'sie',
      backoffMs: 5,
      onError: (e) => errors.push(e),
      sink: async (entries) => {
        if (++tries < 4) throw new Error('broker away');
        delivered.push(...entries.map((e) => e.event.timestamp));
      },
    }).start();
    await vi.waitFor(() => expect(relay.stats().delivered).toBe(3));
    await relay.stop();
    expect(delivered).toEqual([1, 2, 3]);
    expect(errors).toHaveLength(3);
    expect(relay.stats().failures).toBe(3);
  });

  it("delivers a dead relay's claim after its lease, and the dead one's late completion is void", async () => {
    const store = await filled(3);
    let release: () => void = () => {};
    let dead: OutboxRelay | undefined;
    const claimed = new Promise<readonly OutboxEntry[]>((resolveClaimed) => {
      // The first relay takes the batch and never returns from its sink: it died.
      dead = new OutboxRelay({
        store,
        channel: 'sie',
        leaseMs: 50,
        owner: 'dead',
        sink: (entries) => {
          resolveClaimed(entries);
          return new Promise<void>((r) => {
            release = r;
          });
        },
      }).start();
    });
    expect((await claimed).length).toBe(3);
    const delivered: number[] = [];
    const second = new OutboxRelay({
      store,
      channel: 'sie',
      pollMs: 10,
      sink: async (entries) => {
        delivered.push(...entries.map((e) => e.event.timestamp));
      },
    }).start();
    await vi.waitFor(() => expect(second.stats().delivered).toBe(3));
    await second.stop();
    expect(delivered).toEqual([1, 2, 3]);
    release();
    await dead?.stop();
    expect(dead?.stats().delivered).toBe(0);
    expect(await outboxOf(store).completeOutbox([1, 2, 3], 'dead')).toBe(0);
  });

  it('stops after the batch under way has been completed', async () => {
    const store = await filled(2);
    let release: () => void = () => {};
    let started: () => void = () => {};
    const inSink = new Promise<void>((r) => {
      started = r;
    });
    const relay = new OutboxRelay({
      store,
      channel: 'sie',
      sink: () =>
        new Promise<void>((r) => {
          release = r;
          started();
        }),
    }).start();
    await inSink;
    const stopped = relay.stop();
    release();
    await stopped;
    expect(relay.stats().delivered).toBe(2);
    expect((await relay.backlog()).depth).toBe(0);
  });

  it('gives back at once the claim of a batch whose sink failed as it stopped', async () => {
    let now = 1_000;
    const store = await filled(2, () => now);
    let fail: () => void = () => {};
    let started: () => void = () => {};
    const inSink = new Promise<void>((r) => {
      started = r;
    });
    const relay = new OutboxRelay({
      store,
      channel: 'sie',
      owner: 'stopping',
      sink: () =>
        new Promise<void>((_, reject) => {
          fail = () => reject(new Error('adapter closed'));
          started();
        }),
    }).start();
    await inSink;
    const stopped = relay.stop();
    fail();
    await stopped;
    now += 1;
    const taken = await outboxOf(store).claimOutbox({
      channel: 'sie',
      limit: 5,
      owner: 'next',
      leaseMs: 60_000,
    });
    expect(taken).toHaveLength(2);
  });

  it('is woken by a nudge after a commit rather than waiting for its poll', async () => {
    const store = new MemoryUpdateStore();
    const service = new UpdateService({ store, outbox: { channels: ['sie'] } });
    const heard: string[] = [];
    const relay = new OutboxRelay({
      store,
      channel: 'sie',
      pollMs: 3_600_000,
      sink: async (entries) => {
        heard.push(...entries.map((e) => e.event.type));
      },
    }).start();
    service.onEvent(() => relay.nudge());
    await service.createTarget({ controllerId: 'a' });
    await vi.waitFor(() => expect(heard).toEqual(['TARGET_CREATED']), { timeout: 2000 });
    await relay.stop();
  });

  it('two relays on one store deliver every entry at least once and complete each once', async () => {
    const store = new MemoryUpdateStore();
    const service = new UpdateService({ store, outbox: { channels: ['sie'] } });
    const seen = new Map<number, number>();
    const sink = async (entries: readonly OutboxEntry[]) => {
      await new Promise((r) => setTimeout(r, 1));
      for (const e of entries) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
    };
    const relays = [1, 2].map((n) =>
      new OutboxRelay({
        store,
        channel: 'sie',
        batchSize: 3,
        pollMs: 5,
        owner: `r${n}`,
        sink,
      }).start(),
    );
    for (let i = 0; i < 40; i++) await service.createTarget({ controllerId: `d${i}` });
    await vi.waitFor(() => expect(relays.reduce((n, r) => n + r.stats().delivered, 0)).toBe(40));
    await Promise.all(relays.map((r) => r.stop()));
    expect(seen.size).toBe(40);
    expect((await relays[0]!.backlog()).depth).toBe(0);
  });
});
