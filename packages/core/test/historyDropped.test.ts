import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StatusEntry } from '../src/index.js';
import { serviceWithSet } from './fixtures.js';

describe('history positions', () => {
  it('counts what the bound drops, so entry i sits at historyDropped + i for good (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 15 }),
        async (max, reports) => {
          const { service, store, set } = await serviceWithSet({ maxHistory: max });
          await service.createTarget({ controllerId: 'd' });
          const [action] = (await service.assign(set.id, [{ controllerId: 'd' }])).actions;
          // Every entry ever written, in order: what an append-only store would hold.
          const all: StatusEntry[] = [];
          const seen = async () => {
            const context = (await store.getAction(action!.id))!.state.context as {
              history: StatusEntry[];
              historyDropped?: number;
            };
            const base = context.historyDropped ?? 0;
            context.history.forEach((entry, i) => {
              all[base + i] = entry;
            });
            expect(all.slice(base)).toEqual(context.history);
            return base + context.history.length;
          };
          let total = await seen();
          for (let i = 0; i < reports; i++) {
            await service.apply(action!.id, {
              type: 'action.proceeding',
              at: 2_000 + i,
              messages: [`r${i}`],
            });
            const next = await seen();
            expect(next).toBe(total + 1);
            total = next;
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
