import { OutboxRelay, outboxOf } from '@otaflow/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHuaweiReceiverServer,
  HUAWEI_OPERATION_REF,
  HuaweiUpgradeDispatcher,
} from '../src/index.js';
import { createHuaweiPlatform } from '../src/testing.js';
import { setup } from './helpers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

describe('upgrade tasks from the outbox', () => {
  it('creates each task through the relay only, once, and the update runs to the end', async () => {
    const { store, service, set } = await setup({
      deviceIds: ['dev-ok'],
      outbox: { channels: ['huawei'] },
    });
    const platform = await createHuaweiPlatform({ stepDelayMs: 5, startDelayMs: 5 });
    closers.push(() => platform.close());
    const receiver = await createHuaweiReceiverServer({ service });
    closers.push(() => receiver.close());
    const dispatcher = new HuaweiUpgradeDispatcher({
      platformUrl: platform.url,
      appId: platform.appId,
      secret: platform.secret,
      callbackUrl: receiver.url,
    });
    await dispatcher.attach(service, { outbox: true });
    closers.push(() => dispatcher.stop());
    const { actions } = await service.assign(set.id, [{ controllerId: 'dev-ok' }]);
    const actionId = actions[0]!.id;
    await dispatcher.idle();
    // Not heard in process: the task waits in the outbox for a relay.
    expect((await store.getAction(actionId))?.refs?.[HUAWEI_OPERATION_REF]).toBeUndefined();
    expect((await outboxOf(store).outboxStats())[0]?.depth).toBeGreaterThan(0);

    const relay = new OutboxRelay({ store, channel: 'huawei', sink: dispatcher.outboxSink() });
    closers.push(() => relay.stop());
    relay.start();
    const until = async (check: () => Promise<boolean>) => {
      while (!(await check())) await new Promise((r) => setTimeout(r, 10));
    };
    await until(async () => (await outboxOf(store).outboxStats()).length === 0);
    expect((await store.getAction(actionId))?.refs?.[HUAWEI_OPERATION_REF]).toBeDefined();
    await platform.settled();
    await until(async () => (await service.getAction(actionId))?.status === 'FINISHED');
    // Sent again (a backend died before completing): the stored task is not created twice.
    expect(await dispatcher.dispatch(actionId)).toBeUndefined();
  });
});
