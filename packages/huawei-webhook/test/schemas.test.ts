import { mapHuaweiUpgradeState } from '@otaflow/core';
import { describe, expect, it } from 'vitest';
import {
  callbackUrlOf,
  FwUpgradeResultNotify,
  HuaweiNotification,
  notificationKey,
  platformTime,
  SubscribeRequest,
  SwUpgradeResultNotify,
  upgradeResultOf,
  upgradeStateOf,
} from '../src/index.js';

const ids = {
  deviceId: '******',
  appId: '***********',
  operationId: '***********',
  subOperationId: '***********',
};

describe('notification schemas', () => {
  it('parse the documented examples', () => {
    const sw = HuaweiNotification.parse({
      notifyType: 'swUpgradeStateChangeNotify',
      ...ids,
      swUpgradeState: 'downloading',
    });
    expect(upgradeStateOf(sw)).toBe('downloading');
    const swResult = SwUpgradeResultNotify.parse({
      notifyType: 'swUpgradeResultNotify',
      ...ids,
      curVersion: '1.3',
      targetVersion: '1.5',
      sourceVersion: '1.0',
      swUpgradeResult: 'SUCCESS',
      upgradeTime: '***',
      resultDesc: '***',
      errorCode: '***',
      description: '***',
    });
    expect(upgradeResultOf(swResult)).toBe('SUCCESS');
    const fw = HuaweiNotification.parse({
      notifyType: 'fwUpgradeStateChangeNotify',
      ...ids,
      step: '1',
      stepDesc: 'downloading',
    });
    expect(upgradeStateOf(fw)).toBe('downloading');
    const fwResult = FwUpgradeResultNotify.parse({
      notifyType: 'fwUpgradeResultNotify',
      ...ids,
      curVersion: '1.6',
      targetVersion: '1.6',
      sourceVersion: '1.3',
      status: 'SUCCESS',
      statusDesc: '****',
      upgradeTime: '****',
    });
    expect(upgradeResultOf(fwResult)).toBe('SUCCESS');
  });

  it('take upgradeTime as a string (English pages) or a number (Chinese pages), and keep unknown fields', () => {
    const base = { notifyType: 'fwUpgradeResultNotify', ...ids, status: 'FAIL' };
    expect(FwUpgradeResultNotify.parse({ ...base, upgradeTime: 42 }).upgradeTime).toBe(42);
    expect(FwUpgradeResultNotify.parse({ ...base, upgradeTime: '42' }).upgradeTime).toBe('42');
    expect(FwUpgradeResultNotify.parse({ ...base, extra: 1 })).toMatchObject({ extra: 1 });
    expect(FwUpgradeResultNotify.safeParse({ ...base, upgradeTime: true }).success).toBe(false);
  });

  it('read the firmware step digit, falling back to stepDesc, and core maps the word', () => {
    const fw = (step: string, stepDesc?: string) =>
      HuaweiNotification.parse({
        notifyType: 'fwUpgradeStateChangeNotify',
        ...ids,
        step,
        ...(stepDesc ? { stepDesc } : {}),
      });
    expect(['0', '1', '2', '3'].map((s) => upgradeStateOf(fw(s)))).toEqual([
      'idle',
      'downloading',
      'downloaded',
      'updating',
    ]);
    expect(upgradeStateOf(fw('9', 'updating'))).toBe('updating');
    expect(mapHuaweiUpgradeState(upgradeStateOf(fw('3'))!, { at: 1 })).toMatchObject({
      kind: 'event',
      event: { type: 'action.proceeding' },
    });
  });

  it('key a notification by type, sub-task and what it reports', () => {
    const a = HuaweiNotification.parse({
      notifyType: 'swUpgradeStateChangeNotify',
      ...ids,
      swUpgradeState: 'downloading',
    });
    const b = HuaweiNotification.parse({
      notifyType: 'swUpgradeStateChangeNotify',
      ...ids,
      swUpgradeState: 'downloaded',
    });
    expect(notificationKey(a)).not.toBe(notificationKey(b));
    expect(notificationKey(a)).toBe(notificationKey({ ...a }));
  });
});

describe('subscription request', () => {
  it('takes either spelling of the callback URL, not two that disagree', () => {
    expect(
      callbackUrlOf(
        SubscribeRequest.parse({
          notifyType: 'swUpgradeResultNotify',
          callbackUrl: 'https://h:1/a',
        }),
      ),
    ).toBe('https://h:1/a');
    expect(
      callbackUrlOf(
        SubscribeRequest.parse({
          notifyType: 'swUpgradeResultNotify',
          callbackurl: 'https://h:1/b',
        }),
      ),
    ).toBe('https://h:1/b');
    expect(
      SubscribeRequest.safeParse({
        notifyType: 'swUpgradeResultNotify',
        callbackUrl: 'x',
        callbackurl: 'y',
      }).success,
    ).toBe(false);
    expect(SubscribeRequest.safeParse({ notifyType: 'swUpgradeResultNotify' }).success).toBe(false);
  });

  it('formats platform time', () => {
    expect(platformTime(Date.UTC(2015, 11, 12, 12, 12, 12))).toBe('20151212T121212Z');
  });
});
