import type { ActionStatus, TargetUpdateStatus } from '@otaflow/core';

export type Channel = 'ddi' | 'mqtt' | 'huawei';
/** What a device does with its update, so that every path of the model shows. */
export type Role = 'succeed' | 'fail' | 'cancel' | 'confirm';

/**
 * Where a device's update comes from: a rollout group, or a direct assignment for the two DDI
 * paths a rollout's common settings cannot show (a soft update canceled, a consent asked).
 */
export type Delivery = 'canary' | 'wave-1' | 'wave-2' | 'direct';

export interface PlannedDevice {
  controllerId: string;
  channel: Channel;
  role: Role;
  delivery: Delivery;
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
 *
 * The update runs as a rollout: a canary group (the first succeeding device of each channel),
 * then `wave-1` with every failing device, whose error threshold trips and pauses the rollout,
 * then `wave-2` with the rest once the demo resumed it. Cancel and consent go directly.
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
        delivery:
          role === 'cancel' || role === 'confirm'
            ? 'direct'
            : role === 'fail'
              ? 'wave-1'
              : 'wave-2',
        ...EXPECTED[role],
      });
    }
    const canary = devices.find((d) => d.channel === channel && d.delivery === 'wave-2');
    if (canary) canary.delivery = 'canary';
  }
  return devices;
}

/**
 * The demo's rollout (hawkBit's JSON): every device that is not assigned directly, in the
 * groups `planFleet` gave them; a group waits for the one before it to finish completely, and
 * `wave-1` pauses the rollout at its first failure. Groups left empty by the fleet's size are
 * left out.
 */
export function rolloutOf(devices: readonly PlannedDevice[], distributionSetId: number) {
  const ids = (delivery: Delivery) =>
    devices.filter((d) => d.delivery === delivery).map((d) => d.controllerId);
  const all = devices.filter((d) => d.delivery !== 'direct').map((d) => d.controllerId);
  const groups = (['canary', 'wave-1', 'wave-2'] as const)
    .filter((g) => ids(g).length > 0)
    .map((name) => ({
      name,
      targetFilterQuery: `controllerId=in=(${ids(name).join(',')})`,
      targetPercentage: 100,
      successCondition: { condition: 'THRESHOLD', expression: '100' },
      errorCondition: { condition: 'THRESHOLD', expression: name === 'wave-1' ? '0' : '50' },
    }));
  return {
    name: 'demo-rollout',
    description: 'canary first, then waves; the failing wave pauses it',
    distributionSetId,
    targetFilterQuery: `controllerId=in=(${all.join(',')})`,
    type: 'forced',
    groups,
  };
}
