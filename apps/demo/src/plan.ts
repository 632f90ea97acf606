import type { ActionStatus, TargetUpdateStatus } from '@otaflow/core';

export type Channel = 'ddi' | 'mqtt' | 'huawei';
/** What a device does with its update, so that every path of the model shows. */
export type Role = 'succeed' | 'fail' | 'cancel' | 'confirm';

export interface PlannedDevice {
  controllerId: string;
  channel: Channel;
  role: Role;
  /** The final action status the demo expects. */
  expectedAction: ActionStatus;
  expectedTarget: TargetUpdateStatus;
}

export interface FleetCounts {
  ddi: number;
  mqtt: number;
  huawei: number;
  /** Failing devices per channel (as many as there are devices, at most). */
  fail: number;
}

const EXPECTED: Record<Role, Pick<PlannedDevice, 'expectedAction' | 'expectedTarget'>> = {
  succeed: { expectedAction: 'FINISHED', expectedTarget: 'IN_SYNC' },
  confirm: { expectedAction: 'FINISHED', expectedTarget: 'IN_SYNC' },
  fail: { expectedAction: 'ERROR', expectedTarget: 'ERROR' },
  // Core: a canceled action with nothing else active leaves the target IN_SYNC (as hawkBit).
  cancel: { expectedAction: 'CANCELED', expectedTarget: 'IN_SYNC' },
};

/**
 * Who does what: per channel the last `fail` devices fail; among the DDI devices the first is
 * canceled through the Management API and the second needs confirmation (cancel and
 * confirmation are DDI paths: the DDI client accepts cancels and answers consent requests).
 * A role that has no device left is simply not shown.
 */
export function planFleet(counts: FleetCounts): PlannedDevice[] {
  const devices: PlannedDevice[] = [];
  const prefix: Record<Channel, string> = { ddi: 'ddi', mqtt: 'mqtt', huawei: 'hw' };
  for (const channel of ['ddi', 'mqtt', 'huawei'] as const) {
    const n = counts[channel];
    const failing = Math.min(counts.fail, n);
    for (let i = 0; i < n; i++) {
      let role: Role = 'succeed';
      if (i >= n - failing) role = 'fail';
      else if (channel === 'ddi' && i === 0) role = 'cancel';
      else if (channel === 'ddi' && i === 1) role = 'confirm';
      devices.push({
        controllerId: `${prefix[channel]}-${String(i + 1).padStart(2, '0')}`,
        channel,
        role,
        ...EXPECTED[role],
      });
    }
  }
  return devices;
}
