import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ActionEvent,
  DDI_CANCEL_FEEDBACK,
  DDI_DEPLOYMENT_FEEDBACK,
  DDI_EXECUTIONS,
  type DdiFinished,
  type EventTemplate,
  KeyedLock,
  mapDdiFeedback,
  OtaflowError,
} from '../src/index.js';
import { serviceWithSet } from './fixtures.js';

const setup = () => serviceWithSet({ name: 'os', version: '1.0', secondVersion: '2.0' });

describe('apply with { controllerId }', () => {
  it("refuses another target's action as ACTION_NOT_FOUND and changes nothing", async () => {
    const { service, store, set, events, transitions } = await setup();
    await service.createTarget({ controllerId: 'dev-a' });
    await service.createTarget({ controllerId: 'dev-b' });
    const [action] = (await service.assign(set.id, [{ controllerId: 'dev-a' }])).actions;
    const before = await store.getAction(action!.id);
    const seen = [events.length, transitions.length];
    const refused = await service.apply(
      action!.id,
      { type: 'action.finished', result: 'success', at: 5 },
      { controllerId: 'dev-b' },
    );
    expect(refused).toEqual({
      ok: false,
      code: 'ACTION_NOT_FOUND',
      message: `action ${action!.id} not found`,
    });
    expect(await store.getAction(action!.id)).toBe(before);
    expect([events.length, transitions.length]).toEqual(seen);
    expect((await service.getTarget('dev-a'))?.updateStatus).toBe('PENDING');
    const missing = await service.apply(
      999,
      { type: 'action.download', at: 5 },
      { controllerId: 'dev-a' },
    );
    expect(missing).toMatchObject({ ok: false, code: 'ACTION_NOT_FOUND' });
  });

  it("applies the owner's report as a plain apply does", async () => {
    const { service, set, events } = await setup();
    await service.createTarget({ controllerId: 'dev-a' });
    const [action] = (await service.assign(set.id, [{ controllerId: 'dev-a' }])).actions;
    const applied = await service.apply(
      action!.id,
      { type: 'action.download', at: 7, code: 3 },
      { controllerId: 'dev-a' },
    );
    expect(applied).toMatchObject({
      ok: true,
      changed: true,
      targetStatus: 'PENDING',
      action: { id: action!.id, status: 'DOWNLOAD', lastStatusCode: 3, active: true },
    });
    expect(events.at(-1)).toMatchObject({ type: 'ACTION_UPDATED', actionStatus: 'DOWNLOAD' });
    const closed = await service.apply(
      action!.id,
      { type: 'action.finished', result: 'success', at: 8 },
      { controllerId: 'dev-a' },
    );
    expect(closed).toMatchObject({ ok: true, targetStatus: 'IN_SYNC' });
    const late = await service.apply(
      action!.id,
      { type: 'action.download', at: 9 },
      { controllerId: 'dev-a' },
    );
    expect(late).toMatchObject({ ok: false, code: 'ACTION_CLOSED' });
  });
});

describe('findActionIdByRef', () => {
  it('answers the id, the target and the refs, or undefined', async () => {
    const { service, set } = await setup();
    await service.createTarget({ controllerId: 'dev-r' });
    const [action] = (await service.assign(set.id, [{ controllerId: 'dev-r' }])).actions;
    expect(await service.findActionIdByRef('corr', 'x')).toBeUndefined();
    await service.setActionRef(action!.id, 'corr', 'x');
    expect(await service.findActionIdByRef('corr', 'x')).toEqual({
      id: action!.id,
      controllerId: 'dev-r',
      refs: { corr: 'x' },
    });
    const full = await service.findActionByRef('corr', 'x');
    expect(full?.id).toBe(action!.id);
    await service.setActionRef(action!.id, 'corr', 'y');
    expect(await service.findActionIdByRef('corr', 'x')).toBeUndefined();
  });
});

describe('targetStatus of apply', () => {
  const EVENTS: ReadonlyArray<EventTemplate> = [
    { type: 'action.retrieved' },
    { type: 'action.download' },
    { type: 'action.downloaded' },
    { type: 'action.proceeding' },
    { type: 'action.rejected' },
    { type: 'action.deviceCanceled' },
    { type: 'action.canceled' },
    { type: 'action.finished', result: 'success' },
    { type: 'action.finished', result: 'failure' },
    { type: 'action.confirmed' },
    { type: 'action.denied' },
    { type: 'cancel.requested' },
    { type: 'cancel.confirmed' },
    { type: 'cancel.rejected' },
    { type: 'cancel.failed' },
    { type: 'cancel.progress', reported: 'DOWNLOAD' },
    { type: 'action.forceQuit' },
    { type: 'action.start' },
  ];

  it('is always the status the target has in the store, read or not', async () => {
    const command = fc.oneof(
      fc.record({
        kind: fc.constant('assign' as const),
        second: fc.boolean(),
        scheduled: fc.boolean(),
        confirm: fc.boolean(),
        type: fc.constantFrom('forced' as const, 'downloadonly' as const),
      }),
      fc.record({
        kind: fc.constant('event' as const),
        pick: fc.nat(),
        event: fc.constantFrom(...EVENTS),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 3, maxLength: 40 }), async (commands) => {
        const { service, set, set2 } = await setup();
        await service.createTarget({ controllerId: 'dev-p' });
        const ids: number[] = [];
        let at = 10_000;
        for (const c of commands) {
          if (c.kind === 'assign') {
            const result = await service.assign(c.second ? set2.id : set.id, [
              {
                controllerId: 'dev-p',
                scheduled: c.scheduled,
                confirmationRequired: c.confirm,
                type: c.type,
              },
            ]);
            for (const a of result.actions) ids.push(a.id);
            continue;
          }
          if (ids.length === 0) continue;
          const id = ids[c.pick % ids.length]!;
          const applied = await service.apply(id, { ...c.event, at: ++at } as ActionEvent, {
            controllerId: 'dev-p',
          });
          if (applied.ok)
            expect(applied.targetStatus).toBe((await service.getTarget('dev-p'))?.updateStatus);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('KeyedLock', () => {
  it('takes an idle key at once and hands it over in order', async () => {
    const lock = new KeyedLock();
    expect(lock.acquire('k')).toBeUndefined();
    const order: number[] = [];
    const second = lock.acquire('k')!.then(() => order.push(2));
    const third = lock.acquire('k')!.then(() => order.push(3));
    expect(lock.acquire('other')).toBeUndefined();
    lock.release('other');
    order.push(1);
    lock.release('k');
    await second;
    lock.release('k');
    await third;
    lock.release('k');
    expect(order).toEqual([1, 2, 3]);
    expect(lock.acquire('k')).toBeUndefined();
    lock.release('k');
  });

  it('runs work one at a time per key, starting idle keys synchronously, and survives throws', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let started = false;
    const a = lock.run('k', async () => {
      started = true;
      log.push('a:start');
      await new Promise((r) => setTimeout(r, 5));
      log.push('a:end');
      return 'a';
    });
    expect(started).toBe(true);
    const b = lock.run('k', async () => {
      log.push('b');
      throw new Error('b failed');
    });
    const c = lock.run('k', async () => {
      log.push('c');
      return 'c';
    });
    expect(await a).toBe('a');
    await expect(b).rejects.toThrow('b failed');
    expect(await c).toBe('c');
    expect(log).toEqual(['a:start', 'a:end', 'b', 'c']);
    expect(lock.acquire('k')).toBeUndefined();
  });
});

describe('controllerId validation', () => {
  it.each(['dev 1', 'a/b', 'a\\b', 'a?b', 'a#b', '', 'x'.repeat(257)])(
    'contact refuses %j with INVALID_INPUT and stores nothing',
    async (bad) => {
      const { service, events } = await setup();
      const error = await service.contact(bad, { autoRegister: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OtaflowError);
      expect((error as OtaflowError).code).toBe('INVALID_INPUT');
      expect((error as OtaflowError).details).toBeInstanceOf(Array);
      expect((await service.listTargets()).total).toBe(0);
      expect(events).toEqual([]);
    },
  );

  it('accepts ids ControllerId accepts', async () => {
    const { service } = await setup();
    const longest = 'x'.repeat(256);
    await service.createTarget({ controllerId: longest });
    await service.contact('dev.ü-1:2', { autoRegister: true });
    expect((await service.listTargets()).total).toBe(2);
  });
});

describe('fromTemplate without spreads', () => {
  const spread = (template: EventTemplate, at: number, messages?: string[], code?: number) => {
    const event = { ...template, at } as ActionEvent;
    if (messages && messages.length > 0) event.messages = messages;
    if (typeof code === 'number') event.code = code;
    return event;
  };
  it('builds the same events, keys in the same order, for every DDI row', () => {
    for (const endpoint of ['deployment', 'cancel'] as const) {
      const table = endpoint === 'deployment' ? DDI_DEPLOYMENT_FEEDBACK : DDI_CANCEL_FEEDBACK;
      for (const execution of DDI_EXECUTIONS) {
        for (const finished of ['success', 'failure', 'none'] as DdiFinished[]) {
          for (const [messages, code] of [
            [undefined, undefined],
            [['m'], 200],
            [[], 0],
          ] as const) {
            const mapped = mapDdiFeedback(endpoint, {
              execution,
              finished,
              at: 3,
              messages: messages as string[] | undefined,
              code,
            });
            expect(mapped.kind).toBe('event');
            if (mapped.kind !== 'event') continue;
            const expected = spread(
              table[execution][finished],
              3,
              messages as string[] | undefined,
              code,
            );
            expect(JSON.stringify(mapped.event)).toBe(JSON.stringify(expected));
          }
        }
      }
    }
  });
});
