import { HUAWEI_SUB_OPERATION_REF } from '@otaflow/huawei-webhook';
import { createHuaweiPlatform, type HuaweiPlatform } from '@otaflow/huawei-webhook/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import type { Backend } from '../src/server.js';
import { startTestBackend } from './helpers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

/** Polls a condition that must become true (never used to prove that nothing happened). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function world(platformOptions: Parameters<typeof createHuaweiPlatform>[0]) {
  const platform: HuaweiPlatform = await createHuaweiPlatform(platformOptions);
  closers.push(() => platform.close());
  const backend: Backend = await startTestBackend({
    huaweiPlatformUrl: platform.url,
    huaweiAppId: platform.appId,
    huaweiSecret: platform.secret,
  });
  closers.push(() => backend.close());
  const { service } = backend;
  await service.createTarget({ controllerId: 'hw-1', channel: 'huawei' });
  const module = await service.createSoftwareModule({
    type: 'application',
    name: 'app',
    version: '2.0',
  });
  const set = await service.createDistributionSet({
    name: 'app',
    version: '2.0',
    modules: [module.id],
  });
  return { platform, backend, service, set };
}

/** Everything stored about the target and its action: a refused push must leave it as it was. */
async function stored(backend: Backend, actionId: number): Promise<string> {
  return JSON.stringify({
    target: await backend.service.getTarget('hw-1'),
    action: await backend.service.getAction(actionId),
    history: await backend.service.getActionHistory(actionId),
  });
}

function push(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('the Huawei receiver of the backend (issue 15: it took pushes from anyone)', () => {
  it('refuses a forged push without or with a wrong secret, and stores nothing', async () => {
    // The device never starts: the only pushes are ours.
    const w = await world({ startDelayMs: 600_000 });
    const { actions } = await w.service.assign(w.set.id, [{ controllerId: 'hw-1' }]);
    const actionId = actions[0]!.id;
    await until(
      'the sub-operation ref',
      async () =>
        (await w.service.getAction(actionId))?.refs[HUAWEI_SUB_OPERATION_REF] !== undefined,
    );
    // The platform was told the secret-bearing URL, and nothing else.
    const subscribed = new Set(w.platform.subscriptions().values());
    expect([...subscribed]).toEqual([w.backend.huaweiCallbackUrl]);
    const callback = new URL(w.backend.huaweiCallbackUrl);
    expect(callback.searchParams.get('secret')?.length).toBeGreaterThanOrEqual(32);

    const ref = (await w.service.getAction(actionId))!.refs[HUAWEI_SUB_OPERATION_REF]!;
    const [deviceId, operationId, subOperationId] = ref.split('/').map(decodeURIComponent);
    const forged = {
      notifyType: 'swUpgradeResultNotify',
      deviceId,
      appId: w.platform.appId,
      operationId,
      subOperationId,
      swUpgradeResult: 'SUCCESS',
      upgradeTime: '20240101T000000Z',
    };
    const bare = `${w.backend.url}${w.backend.huaweiReceiverPath}`;
    const before = await stored(w.backend, actionId);
    for (const url of [
      bare,
      `${bare}?secret=`,
      `${bare}?secret=${encodeURIComponent(callback.searchParams.get('secret')!.slice(1))}`,
      `${bare}?token=${encodeURIComponent(callback.searchParams.get('secret')!)}`,
    ]) {
      const answer = await push(url, forged);
      expect(answer.status).toBe(401);
      expect(await answer.json()).toEqual({ result: 'rejected', reason: 'bad or missing secret' });
      expect(await stored(w.backend, actionId)).toBe(before);
    }
    expect((await w.service.getAction(actionId))?.status).toBe('RUNNING');

    // The same push through the subscribed URL is the platform's, and is applied.
    const real = await push(w.backend.huaweiCallbackUrl, forged);
    expect(real.status).toBe(200);
    expect(await real.json()).toEqual({ result: 'applied', actionId });
    expect((await w.service.getAction(actionId))?.status).toBe('FINISHED');
  });

  it('lets the platform through: a real upgrade ends FINISHED and the target IN_SYNC', async () => {
    const w = await world({ startDelayMs: 5, stepDelayMs: 5 });
    const { actions } = await w.service.assign(w.set.id, [{ controllerId: 'hw-1' }]);
    const actionId = actions[0]!.id;
    await until(
      'the action to finish',
      async () => (await w.service.getAction(actionId))?.status === 'FINISHED',
    );
    expect((await w.service.getTarget('hw-1'))?.updateStatus).toBe('IN_SYNC');
    expect(((await w.service.getActionHistory(actionId)) ?? []).map((e) => e.status)).toEqual([
      'RUNNING',
      'DOWNLOAD',
      'DOWNLOADED',
      'RUNNING',
      'FINISHED',
    ]);
  });

  it('takes the secret from --huawei-callback-secret, and refuses a short one', async () => {
    const secret = 'a-configured+secret/0123456789';
    const backend = await startTestBackend({ huaweiCallbackSecret: secret });
    closers.push(() => backend.close());
    expect(new URL(backend.huaweiCallbackUrl).searchParams.get('secret')).toBe(secret);
    const forged = { notifyType: 'swUpgradeStateChangeNotify' };
    expect((await push(`${backend.url}${backend.huaweiReceiverPath}`, forged)).status).toBe(401);
    // Past the secret, the body is checked: 400 proves the secret was taken.
    expect((await push(backend.huaweiCallbackUrl, forged)).status).toBe(400);
    expect(() => parseConfig({ huaweiCallbackSecret: 'short' })).toThrow(/huawei-callback-secret/);
  });
});
