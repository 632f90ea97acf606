import { afterEach, describe, expect, it } from 'vitest';
import {
  createHuaweiReceiverServer,
  HUAWEI_OPERATION_REF,
  HUAWEI_SUB_OPERATION_REF,
  type HuaweiReceiverServer,
  HuaweiUpgradeDispatcher,
  type ReceiverOutcome,
} from '../src/index.js';
import { createHuaweiPlatform, type HuaweiPlatform } from '../src/testing.js';
import { post, setup, storedState } from './helpers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function world(moduleType: string) {
  const devices = ['dev-ok', 'dev-bad'];
  const { store, service, set } = await setup({ deviceIds: devices, moduleType, version: '2.0' });
  const platform: HuaweiPlatform = await createHuaweiPlatform({ stepDelayMs: 5, startDelayMs: 5 });
  closers.push(() => platform.close());
  platform.setDevice('dev-bad', {
    outcome: 'failure',
    failAt: 'downloaded',
    errorCode: '7',
    description: 'package verification failure',
  });
  const outcomes: ReceiverOutcome[] = [];
  const receiver: HuaweiReceiverServer = await createHuaweiReceiverServer({
    service,
    onOutcome: (o) => outcomes.push(o),
  });
  closers.push(() => receiver.close());
  const dispatcher = new HuaweiUpgradeDispatcher({
    platformUrl: platform.url,
    appId: platform.appId,
    secret: platform.secret,
    callbackUrl: receiver.url,
  });
  await dispatcher.attach(service);
  closers.push(() => dispatcher.stop());
  return { store, service, set, platform, receiver, dispatcher, outcomes, devices };
}

async function history(service: Awaited<ReturnType<typeof world>>['service'], actionId: number) {
  return ((await service.getActionHistory(actionId)) ?? []).map((e) => e.status);
}

describe.each([
  {
    kind: 'software',
    moduleType: 'application',
    state: 'swUpgradeStateChangeNotify',
    result: 'swUpgradeResultNotify',
  },
  {
    kind: 'firmware',
    moduleType: 'firmware',
    state: 'fwUpgradeStateChangeNotify',
    result: 'fwUpgradeResultNotify',
  },
])('a full $kind upgrade over real HTTP', ({ moduleType, state, result }) => {
  it('ends FINISHED for a device that succeeds and ERROR for one that fails, each push applied once', async () => {
    const w = await world(moduleType);
    expect([...w.platform.subscriptions().keys()].sort()).toEqual([
      'fwUpgradeResultNotify',
      'fwUpgradeStateChangeNotify',
      'swUpgradeResultNotify',
      'swUpgradeStateChangeNotify',
    ]);
    const assigned = await w.service.assign(w.set.id, [
      { controllerId: 'dev-ok' },
      { controllerId: 'dev-bad' },
    ]);
    const [ok, bad] = assigned.actions;
    await w.dispatcher.idle();
    await w.platform.settled();

    const okView = (await w.store.getAction(ok!.id))!;
    expect(okView.refs?.[HUAWEI_OPERATION_REF]).toMatch(/^dev-ok\//);
    expect(okView.refs?.[HUAWEI_SUB_OPERATION_REF]).toMatch(/^dev-ok\/[^/]+\/[^/]+$/);

    expect((await w.service.getAction(ok!.id))?.status).toBe('FINISHED');
    expect(await history(w.service, ok!.id)).toEqual([
      'RUNNING',
      'DOWNLOAD',
      'DOWNLOADED',
      'RUNNING',
      'FINISHED',
    ]);
    expect((await w.service.getTarget('dev-ok'))?.updateStatus).toBe('IN_SYNC');

    expect((await w.service.getAction(bad!.id))?.status).toBe('ERROR');
    expect(await history(w.service, bad!.id)).toEqual([
      'RUNNING',
      'DOWNLOAD',
      'DOWNLOADED',
      'ERROR',
    ]);
    const badHistory = (await w.service.getActionHistory(bad!.id)) ?? [];
    expect(badHistory.at(-1)?.code).toBe(moduleType === 'firmware' ? undefined : 7);
    expect(badHistory.at(-1)?.messages?.join(' ')).toContain('package verification failure');
    expect((await w.service.getTarget('dev-bad'))?.updateStatus).toBe('ERROR');

    // Every push went out once, compact, and was answered 200.
    const pushes = w.platform.deliveries;
    expect(pushes.every((d) => d.ok && d.attempt === 1)).toBe(true);
    expect(pushes.every((d) => !/\s/.test(d.body.replace(/"[^"]*"/g, '')))).toBe(true);
    expect(pushes.filter((d) => d.body.includes(`"notifyType":"${state}"`))).toHaveLength(4 + 3);
    expect(pushes.filter((d) => d.body.includes(`"notifyType":"${result}"`))).toHaveLength(2);
    // idle is the one push core ignores; all the others were applied once.
    expect(w.outcomes.filter((o) => o.result === 'applied')).toHaveLength(pushes.length - 2);
    expect(w.outcomes.filter((o) => o.result === 'ignored')).toHaveLength(2);
    expect(
      w.outcomes.filter((o) => o.result === 'duplicate' || o.result === 'refused'),
    ).toHaveLength(0);

    const okTask = w.platform.getTask(okView.refs![HUAWEI_OPERATION_REF]!.split('/')[1]!);
    expect(okTask?.status).toBe('success');
    expect(okTask?.operateType).toBe(
      moduleType === 'firmware' ? 'firmware_upgrade' : 'software_upgrade',
    );
    expect(w.platform.deviceVersion('dev-ok')).toBe('2.0');
    expect(w.platform.deviceVersion('dev-bad')).toBe('1.0');
  });
});

describe('dispatcher choices', () => {
  it('leaves targets of other channels and actions waiting for confirmation alone', async () => {
    const w = await world('application');
    await w.service.createTarget({ controllerId: 'ddi-device', channel: 'ddi' });
    const other = await w.service.assign(w.set.id, [{ controllerId: 'ddi-device' }]);
    const waiting = await w.service.assign(w.set.id, [
      { controllerId: 'dev-ok', confirmationRequired: true },
    ]);
    await w.dispatcher.idle();
    expect((await w.store.getAction(other.actions[0]!.id))?.refs).toBeUndefined();
    expect((await w.store.getAction(waiting.actions[0]!.id))?.refs).toBeUndefined();
    // Confirming makes it RUNNING: now the task is created.
    await w.service.apply(waiting.actions[0]!.id, { type: 'action.confirmed', at: Date.now() });
    await w.dispatcher.idle();
    await w.platform.settled();
    expect((await w.service.getAction(waiting.actions[0]!.id))?.status).toBe('FINISHED');
  });

  it('closes the action as ERROR when the platform refuses the task', async () => {
    const { service, set } = await setup({ deviceIds: ['dev-x'] });
    const platform = await createHuaweiPlatform({ packages: { 'known-file': { version: '9' } } });
    closers.push(() => platform.close());
    const dispatcher = new HuaweiUpgradeDispatcher({
      platformUrl: platform.url,
      appId: platform.appId,
      secret: platform.secret,
      callbackUrl: 'http://127.0.0.1:9/unused',
    });
    await dispatcher.attach(service);
    closers.push(() => dispatcher.stop());
    const { actions } = await service.assign(set.id, [{ controllerId: 'dev-x' }]);
    await dispatcher.idle();
    const view = await service.getAction(actions[0]!.id);
    expect(view?.status).toBe('ERROR');
    const last = (await service.getActionHistory(actions[0]!.id))?.at(-1);
    expect(last?.messages?.[0]).toContain('120015');
  });
});

describe('a receiver guarded by the callback URL (issue 15: it took pushes from anyone)', () => {
  it('lets the platform in through the subscribed URL and refuses a forged push', async () => {
    const { store, service, set } = await setup({ deviceIds: ['dev-ok'] });
    // The device starts late enough that the forged push below meets an action nothing moved yet.
    const platform = await createHuaweiPlatform({ stepDelayMs: 5, startDelayMs: 300 });
    closers.push(() => platform.close());
    const receiver = await createHuaweiReceiverServer({
      service,
      secret: 'a shared secret/+&=',
      basicAuth: { username: 'platform', password: 'p@ss:word' },
    });
    closers.push(() => receiver.close());
    const url = new URL(receiver.url);
    url.username = 'platform';
    url.password = encodeURIComponent('p@ss:word');
    url.searchParams.set('secret', 'a shared secret/+&=');
    const dispatcher = new HuaweiUpgradeDispatcher({
      platformUrl: platform.url,
      appId: platform.appId,
      secret: platform.secret,
      callbackUrl: url.href,
    });
    await dispatcher.attach(service);
    closers.push(() => dispatcher.stop());
    const { actions } = await service.assign(set.id, [{ controllerId: 'dev-ok' }]);
    const actionId = actions[0]!.id;
    await dispatcher.idle();

    // A forged result for the real sub-operation, before the device has done anything.
    const ref = (await store.getAction(actionId))!.refs![HUAWEI_SUB_OPERATION_REF]!;
    const [deviceId, operationId, subOperationId] = ref.split('/').map(decodeURIComponent);
    const forged = JSON.stringify({
      notifyType: 'swUpgradeResultNotify',
      deviceId,
      appId: platform.appId,
      operationId,
      subOperationId,
      swUpgradeResult: 'SUCCESS',
    });
    const before = await storedState(store, 'dev-ok');
    const forgedAnswer = await post(receiver.url, forged);
    expect(forgedAnswer.status).toBe(401);
    expect(await storedState(store, 'dev-ok')).toBe(before);

    await platform.settled();
    expect((await service.getAction(actionId))?.status).toBe('FINISHED');
    expect(await history(service, actionId)).toEqual([
      'RUNNING',
      'DOWNLOAD',
      'DOWNLOADED',
      'RUNNING',
      'FINISHED',
    ]);
    expect(platform.deliveries.every((d) => d.ok && d.attempt === 1)).toBe(true);
  });
});
