import {
  type DomainEvent,
  type OutboxEntry,
  OutboxRelay,
  outboxOf,
  UpdateService,
  type UpdateStore,
} from '@otaflow/core';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

/** Two stores of one fresh tenant, each on its own connection where the backend has several. */
export type OutboxFactory = () => Promise<{ a: UpdateStore; b: UpdateStore }>;

const event = (n: number): DomainEvent => ({
  type: 'TARGET_UPDATED',
  controllerId: `dev-${n}`,
  updateStatus: 'PENDING',
  timestamp: n,
});

const appends = (channel: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ channel, event: event(from + i) }));

export function describeOutbox(name: string, factory: OutboxFactory) {
  describe(`outbox contract: ${name}`, () => {
    it('commits entries with their unit, oldest first, and none of a unit that rolled back', async () => {
      const { a } = await factory();
      await a.transaction(async (tx) => {
        await outboxOf(tx).appendOutbox(appends('sie', 1, 2));
        await outboxOf(tx).appendOutbox(appends('commands', 3, 1));
      });
      await expect(
        a.transaction(async (tx) => {
          await outboxOf(tx).appendOutbox(appends('sie', 9, 1));
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      const outbox = outboxOf(a);
      const sie = await outbox.claimOutbox({
        channel: 'sie',
        limit: 10,
        owner: 'o',
        leaseMs: 60_000,
      });
      expect(sie.map((e) => e.event)).toEqual([event(1), event(2)]);
      expect(sie[0]!.id).toBeLessThan(sie[1]!.id);
      expect(sie.every((e) => e.channel === 'sie' && e.createdAt > 0)).toBe(true);
      const stats = await outbox.outboxStats();
      expect(stats.map((s) => [s.channel, s.depth])).toEqual([
        ['commands', 1],
        ['sie', 2],
      ]);
      expect(stats.every((s) => s.oldestAgeMs >= 0 && s.oldestAgeMs < 60_000)).toBe(true);
    });

    it('skips what another holds under its lease, lets the holder take it again, completes for the holder only', async () => {
      const { a, b } = await factory();
      const outA = outboxOf(a);
      const outB = outboxOf(b);
      await outA.appendOutbox(appends('sie', 1, 5));
      const claim = (out: typeof outA, owner: string, limit: number, leaseMs = 60_000) =>
        out.claimOutbox({ channel: 'sie', limit, owner, leaseMs });
      const first = await claim(outA, 'a', 3);
      expect(first.map((e) => e.event.timestamp)).toEqual([1, 2, 3]);
      expect((await claim(outB, 'b', 10)).map((e) => e.event.timestamp)).toEqual([4, 5]);
      expect(await claim(outB, 'b2', 10)).toEqual([]);
      expect((await claim(outA, 'a', 10)).map((e) => e.event.timestamp)).toEqual([1, 2, 3]);
      expect(
        await outB.completeOutbox(
          first.map((e) => e.id),
          'b',
        ),
      ).toBe(0);
      expect(
        await outA.completeOutbox(
          first.map((e) => e.id),
          'a',
        ),
      ).toBe(3);
      expect(
        await outA.completeOutbox(
          first.map((e) => e.id),
          'a',
        ),
      ).toBe(0);
      expect((await outA.outboxStats())[0]?.depth).toBe(2);
    });

    it('gives a claim whose lease ran out to the next claimer; the old holder completes nothing', async () => {
      const { a, b } = await factory();
      await outboxOf(a).appendOutbox(appends('sie', 1, 2));
      const dead = await outboxOf(a).claimOutbox({
        channel: 'sie',
        limit: 5,
        owner: 'dead',
        leaseMs: 1,
      });
      expect(dead).toHaveLength(2);
      let taken: OutboxEntry[] = [];
      await vi.waitFor(async () => {
        taken = await outboxOf(b).claimOutbox({
          channel: 'sie',
          limit: 5,
          owner: 'heir',
          leaseMs: 60_000,
        });
        expect(taken).toHaveLength(2);
      });
      expect(
        await outboxOf(a).completeOutbox(
          dead.map((e) => e.id),
          'dead',
        ),
      ).toBe(0);
      expect(
        await outboxOf(b).completeOutbox(
          taken.map((e) => e.id),
          'heir',
        ),
      ).toBe(2);
    });

    it('never hands one entry to two concurrent claims', async () => {
      const { a, b } = await factory();
      await outboxOf(a).appendOutbox(appends('sie', 1, 40));
      const claims = await Promise.all(
        [a, b, a, b].map((s, i) =>
          outboxOf(s).claimOutbox({ channel: 'sie', limit: 15, owner: `o${i}`, leaseMs: 60_000 }),
        ),
      );
      const ids = claims.flat().map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(40);
    });

    it("writes every domain event of a service unit, and a crashed relay's batch is delivered by another after its lease", async () => {
      const { a, b } = await factory();
      const service = new UpdateService({ store: a, outbox: { channels: ['sie'] } });
      const heard: DomainEvent[] = [];
      service.onEvent((e) => {
        heard.push(e);
      });
      await service.createTarget({ controllerId: 'd1' });
      await service.contact('d2', { autoRegister: true });
      // Relay one claims and dies in its sink: no completion ever comes.
      let claimedByDead = 0;
      const dead = new OutboxRelay({
        store: a,
        channel: 'sie',
        owner: 'dead',
        leaseMs: 200,
        sink: (entries) => {
          claimedByDead = entries.length;
          return new Promise<void>(() => {});
        },
      }).start();
      await vi.waitFor(() => expect(claimedByDead).toBe(heard.length));
      const delivered: DomainEvent[] = [];
      const heir = new OutboxRelay({
        store: b,
        channel: 'sie',
        pollMs: 20,
        sink: async (entries) => {
          delivered.push(...entries.map((e) => e.event));
        },
      }).start();
      await vi.waitFor(() => expect(heir.stats().delivered).toBe(heard.length), { timeout: 5000 });
      await heir.stop();
      expect(delivered).toEqual(heard);
      void dead; // its sink never returns: it stays "dead" for the rest of the run
    });

    it('two relays deliver every entry at least once and complete each exactly once (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 }),
          fc.integer({ min: 1, max: 7 }),
          fc.integer({ min: 1, max: 7 }),
          async (bursts, sizeA, sizeB) => {
            const { a, b } = await factory();
            const seen = new Map<number, number>();
            const sink = async (entries: readonly OutboxEntry[]) => {
              for (const e of entries) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
            };
            const relays = [
              new OutboxRelay({ store: a, channel: 'sie', batchSize: sizeA, pollMs: 5, sink }),
              new OutboxRelay({ store: b, channel: 'sie', batchSize: sizeB, pollMs: 5, sink }),
            ].map((r) => r.start());
            let total = 0;
            for (const n of bursts) {
              await a.transaction((tx) => outboxOf(tx).appendOutbox(appends('sie', total, n)));
              total += n;
            }
            await vi.waitFor(
              () => expect(relays[0]!.stats().delivered + relays[1]!.stats().delivered).toBe(total),
              { timeout: 5000 },
            );
            await Promise.all(relays.map((r) => r.stop()));
            expect(seen.size).toBe(total);
            expect((await outboxOf(a).outboxStats()).length).toBe(0);
          },
        ),
        { numRuns: 8 },
      );
    });
  });
}
