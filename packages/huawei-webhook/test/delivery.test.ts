import { UpdateService } from '@otaflow/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHuaweiReceiver,
  createHuaweiReceiverServer,
  HUAWEI_OPERATION_REF,
  HUAWEI_SUB_OPERATION_REF,
  HuaweiUpgradeDispatcher,
  operationRef,
  type ReceiverOutcome,
  subOperationRef,
} from '../src/index.js';
import { createHuaweiPlatform } from '../src/testing.js';
import { captureLogger, flakyServer, post, setup, storedState } from './helpers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function flakyWorld(
  failures: number,
  delivery: { blacklistAfter?: number; probeIntervalMs?: number },
) {
  const { store, service, set } = await setup({ deviceIds: ['dev-1'] });
  const outcomes: ReceiverOutcome[] = [];
  const receiver = createHuaweiReceiver({ service, onOutcome: (o) => outcomes.push(o) });
  const host = await flakyServer(failures, receiver.handle);
  closers.push(host.close);
  const warnings: Array<{ message: string; details?: Record<string, unknown> }> = [];
  const platform = await createHuaweiPlatform({
    stepDelayMs: 2,
    startDelayMs: 2,
    delivery: { retryIntervalMs: 10, ...delivery },
    logger: captureLogger('warn', (message, details) => warnings.push({ message, details })),
  });
  closers.push(() => platform.close());
  const dispatcher = new HuaweiUpgradeDispatcher({
    platformUrl: platform.url,
    appId: platform.appId,
    secret: platform.secret,
    callbackUrl: `${host.base}${receiver.path}`,
  });
  await dispatcher.attach(service);
  closers.push(() => dispatcher.stop());
  const { actions } = await service.assign(set.id, [{ controllerId: 'dev-1' }]);
  await dispatcher.idle();
  await platform.settled();
  return { store, service, platform, outcomes, actionId: actions[0]!.id, host, warnings };
}

describe('at-least-once delivery', () => {
  it('a receiver that answers 500 to the first two pushes still gets everything, exactly once', async () => {
    const w = await flakyWorld(2, {});
    const failed = w.platform.deliveries.filter((d) => !d.ok);
    expect(failed.map((d) => d.status)).toEqual([500, 500]);
    // The first message was retried and then everything followed in order.
    const delivered = w.platform.deliveries.filter((d) => d.ok).map((d) => JSON.parse(d.body));
    expect(delivered.map((n) => n.swUpgradeState ?? n.swUpgradeResult)).toEqual([
      'downloading',
      'downloaded',
      'updating',
      'idle',
      'SUCCESS',
    ]);
    expect(w.outcomes.map((o) => o.result)).toEqual([
      'applied',
      'applied',
      'applied',
      'ignored',
      'applied',
    ]);
    expect((await w.service.getAction(w.actionId))?.status).toBe('FINISHED');
    expect(((await w.service.getActionHistory(w.actionId)) ?? []).map((e) => e.status)).toEqual([
      'RUNNING',
      'DOWNLOAD',
      'DOWNLOADED',
      'RUNNING',
      'FINISHED',
    ]);
  });

  it('sets the callback host aside after 10 consecutive failures, probes it later, then delivers everything once', async () => {
    const w = await flakyWorld(12, { blacklistAfter: 10, probeIntervalMs: 80 });
    const attempts = w.platform.deliveries;
    expect(attempts.filter((d) => !d.ok)).toHaveLength(12);
    // Set aside at the 10th failure, and again after each failed probe (the 11th and 12th).
    expect(
      w.warnings
        .filter((x) => x.message === 'callback host set aside')
        .map((x) => x.details?.failures),
    ).toEqual([10, 11, 12]);
    expect(w.platform.isBlacklisted(w.host.base)).toBe(false);
    expect(w.outcomes.filter((o) => o.result === 'applied')).toHaveLength(4);
    expect(w.outcomes.filter((o) => o.result === 'duplicate')).toHaveLength(0);
    expect((await w.service.getAction(w.actionId))?.status).toBe('FINISHED');
  });

  it('gives up on a message older than the cache time', async () => {
    const { service, set } = await setup({ deviceIds: ['dev-1'] });
    const platform = await createHuaweiPlatform({
      stepDelayMs: 2,
      startDelayMs: 2,
      delivery: { retryIntervalMs: 5, messageTtlMs: 60, blacklistAfter: 1000 },
    });
    closers.push(() => platform.close());
    const dispatcher = new HuaweiUpgradeDispatcher({
      platformUrl: platform.url,
      appId: platform.appId,
      secret: platform.secret,
      callbackUrl: 'http://127.0.0.1:9/v1.0.0/messageReceiver',
      notifyTypes: ['swUpgradeResultNotify'],
    });
    await dispatcher.attach(service);
    closers.push(() => dispatcher.stop());
    await service.assign(set.id, [{ controllerId: 'dev-1' }]);
    await dispatcher.idle();
    await platform.settled();
    expect(platform.dropped.map((n) => n.notifyType)).toEqual(['swUpgradeResultNotify']);
    expect(platform.deliveries.every((d) => !d.ok && d.error !== undefined)).toBe(true);
  });
});

describe('duplicates and late reports', () => {
  async function direct() {
    const { store, service, set } = await setup({ deviceIds: ['dev-1'] });
    const { actions } = await service.assign(set.id, [{ controllerId: 'dev-1' }]);
    const actionId = actions[0]!.id;
    await service.setActionRef(actionId, HUAWEI_OPERATION_REF, operationRef('dev-1', 'op-1'));
    await service.setActionRef(
      actionId,
      HUAWEI_SUB_OPERATION_REF,
      subOperationRef('dev-1', 'op-1', 'sub-1'),
    );
    const server = await createHuaweiReceiverServer({ service, matchWaitMs: 0 });
    closers.push(() => server.close());
    const ids = { deviceId: 'dev-1', appId: 'app', operationId: 'op-1', subOperationId: 'sub-1' };
    const push = async (extra: Record<string, unknown>) => {
      const response = await post(server.url, JSON.stringify({ ...ids, ...extra }));
      return { status: response.status, body: JSON.parse(response.body) as { result: string } };
    };
    return { store, service, actionId, server, push, ids };
  }

  it('answers a redelivered notification 200 without applying it again', async () => {
    const d = await direct();
    const first = await d.push({
      notifyType: 'swUpgradeStateChangeNotify',
      swUpgradeState: 'downloading',
    });
    expect(first).toEqual({ status: 200, body: { result: 'applied', actionId: d.actionId } });
    const before = await storedState(d.store, 'dev-1');
    const again = await d.push({
      notifyType: 'swUpgradeStateChangeNotify',
      swUpgradeState: 'downloading',
    });
    expect(again).toEqual({ status: 200, body: { result: 'duplicate' } });
    expect(await storedState(d.store, 'dev-1')).toBe(before);
  });

  it('forgets the oldest key first once dedupeSize keys are remembered', async () => {
    const { service, set } = await setup({ deviceIds: ['dev-1'] });
    const { actions } = await service.assign(set.id, [{ controllerId: 'dev-1' }]);
    await service.setActionRef(
      actions[0]!.id,
      HUAWEI_SUB_OPERATION_REF,
      subOperationRef('dev-1', 'op-1', 'sub-1'),
    );
    const server = await createHuaweiReceiverServer({ service, matchWaitMs: 0, dedupeSize: 2 });
    closers.push(() => server.close());
    const ids = { deviceId: 'dev-1', appId: 'app', operationId: 'op-1', subOperationId: 'sub-1' };
    const push = async (swUpgradeState: string) =>
      (
        JSON.parse(
          (
            await post(
              server.url,
              JSON.stringify({ ...ids, notifyType: 'swUpgradeStateChangeNotify', swUpgradeState }),
            )
          ).body,
        ) as { result: string }
      ).result;
    for (const state of ['downloading', 'downloaded', 'updating'])
      expect(await push(state)).toBe('applied');
    expect(server.receiver.dedupeCount).toBe(2);
    expect(await push('updating')).toBe('duplicate');
    expect(await push('downloaded')).toBe('duplicate');
    // The oldest key left the memory; the action still holds it, so core recognises it.
    const history = (await service.getActionHistory(actions[0]!.id))?.length;
    expect(await push('downloading')).toBe('duplicate');
    expect(server.receiver.dedupeCount).toBe(2);
    expect(await push('downloaded')).toBe('duplicate');
    expect((await service.getActionHistory(actions[0]!.id))?.length).toBe(history);
  });

  it('a redelivery after a restart is recognised from the stored action, not applied again', async () => {
    const d = await direct();
    const body = { notifyType: 'swUpgradeStateChangeNotify', swUpgradeState: 'downloading' };
    expect((await d.push(body)).body.result).toBe('applied');
    await d.server.close();
    const before = await storedState(d.store, 'dev-1');
    // A new process: a new service and receiver over the same store, with an empty memory.
    const restarted = await createHuaweiReceiverServer({
      service: new UpdateService({ store: d.store }),
      matchWaitMs: 0,
    });
    closers.push(() => restarted.close());
    expect(restarted.receiver.dedupeCount).toBe(0);
    const again = await post(restarted.url, JSON.stringify({ ...d.ids, ...body }));
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ result: 'duplicate' });
    expect(await storedState(d.store, 'dev-1')).toBe(before);
    // Remembered now: the next copy is answered from memory.
    expect(restarted.receiver.dedupeCount).toBe(1);
  });

  it('two receivers sharing one store apply a push delivered to both once', async () => {
    const d = await direct();
    const other = await createHuaweiReceiverServer({
      service: new UpdateService({ store: d.store }),
      matchWaitMs: 0,
    });
    closers.push(() => other.close());
    const body = JSON.stringify({
      ...d.ids,
      notifyType: 'swUpgradeStateChangeNotify',
      swUpgradeState: 'downloaded',
    });
    const answers = await Promise.all([post(d.server.url, body), post(other.url, body)]);
    expect(answers.map((a) => JSON.parse(a.body).result).sort()).toEqual(['applied', 'duplicate']);
    const history = (await d.service.getActionHistory(d.actionId)) ?? [];
    expect(history.filter((e) => e.status === 'DOWNLOADED')).toHaveLength(1);
  });

  it('applies concurrent copies of one notification once', async () => {
    const d = await direct();
    const body = { notifyType: 'swUpgradeStateChangeNotify', swUpgradeState: 'downloaded' };
    const answers = await Promise.all([d.push(body), d.push(body), d.push(body)]);
    expect(answers.map((a) => a.body.result).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    const history = (await d.service.getActionHistory(d.actionId)) ?? [];
    expect(history.filter((e) => e.status === 'DOWNLOADED')).toHaveLength(1);
  });

  it('a late downloaded after an older one is redelivered out of order is not applied twice', async () => {
    const d = await direct();
    await d.push({ notifyType: 'swUpgradeStateChangeNotify', swUpgradeState: 'downloaded' });
    await d.push({ notifyType: 'swUpgradeStateChangeNotify', swUpgradeState: 'updating' });
    const before = await storedState(d.store, 'dev-1');
    const late = await d.push({
      notifyType: 'swUpgradeStateChangeNotify',
      swUpgradeState: 'downloaded',
    });
    expect(late.body.result).toBe('duplicate');
    expect(await storedState(d.store, 'dev-1')).toBe(before);
    expect((await d.service.getAction(d.actionId))?.status).toBe('RUNNING');
  });

  it('refuses (with 200) a report for a closed action and changes nothing', async () => {
    const d = await direct();
    const done = await d.push({ notifyType: 'swUpgradeResultNotify', swUpgradeResult: 'SUCCESS' });
    expect(done.body.result).toBe('applied');
    const before = await storedState(d.store, 'dev-1');
    const late = await d.push({
      notifyType: 'swUpgradeStateChangeNotify',
      swUpgradeState: 'updating',
    });
    expect(late.status).toBe(200);
    expect(late.body.result).toBe('refused');
    const contrary = await d.push({ notifyType: 'swUpgradeResultNotify', swUpgradeResult: 'FAIL' });
    expect(contrary.body.result).toBe('refused');
    expect(await storedState(d.store, 'dev-1')).toBe(before);
    expect((await d.service.getAction(d.actionId))?.status).toBe('FINISHED');
  });

  it('ignores a notification for an unknown sub-task without remembering it, so a later redelivery applies', async () => {
    const d = await direct();
    const stray = {
      notifyType: 'swUpgradeStateChangeNotify',
      swUpgradeState: 'downloading',
      operationId: 'op-2',
    };
    const before = await storedState(d.store, 'dev-1');
    expect((await d.push(stray)).body.result).toBe('ignored');
    expect(await storedState(d.store, 'dev-1')).toBe(before);
    await d.service.setActionRef(d.actionId, HUAWEI_OPERATION_REF, operationRef('dev-1', 'op-2'));
    expect((await d.push(stray)).body.result).toBe('applied');
  });

  it('matches by operation id when the sub-operation id is not recorded yet, and waits for a ref being stored', async () => {
    const { service, set } = await setup({ deviceIds: ['dev-1'] });
    const { actions } = await service.assign(set.id, [{ controllerId: 'dev-1' }]);
    const server = await createHuaweiReceiverServer({ service, matchWaitMs: 2_000 });
    closers.push(() => server.close());
    const body = JSON.stringify({
      notifyType: 'fwUpgradeStateChangeNotify',
      deviceId: 'dev-1',
      appId: 'a',
      operationId: 'op-9',
      subOperationId: 'sub-9',
      step: '1',
      stepDesc: 'downloading',
    });
    const answer = post(server.url, body);
    setTimeout(
      () =>
        void service.setActionRef(
          actions[0]!.id,
          HUAWEI_OPERATION_REF,
          operationRef('dev-1', 'op-9'),
        ),
      50,
    );
    const response = await answer;
    expect(JSON.parse(response.body).result).toBe('applied');
    expect((await service.getAction(actions[0]!.id))?.status).toBe('DOWNLOAD');
  });
});
