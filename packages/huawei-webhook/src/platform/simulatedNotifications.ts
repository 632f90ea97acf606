import type { HuaweiNotification } from '../notifications.js';
import type { DeviceBehaviour } from './DeviceSimulation.js';
import type { SubTask, Task } from './PlatformState.js';

/** The software states a device passes through, in order; `idle` once it is done. */
export const SW_STATES = ['downloading', 'downloaded', 'updating', 'idle'] as const;
export type SwState = (typeof SW_STATES)[number];

const FW_STEP_OF = { idle: '0', downloading: '1', downloaded: '2', updating: '3' } as const;

function idsOf(appId: string, task: Task, sub: SubTask) {
  return {
    deviceId: sub.deviceId,
    appId,
    operationId: task.operationId,
    subOperationId: sub.subOperationId,
  };
}

/** The state push of a sub-task: `swUpgradeStateChangeNotify`, or the firmware step. */
export function stateNotification(
  appId: string,
  task: Task,
  sub: SubTask,
  state: SwState,
): HuaweiNotification {
  if (task.type === 'software') {
    return {
      notifyType: 'swUpgradeStateChangeNotify',
      ...idsOf(appId, task, sub),
      swUpgradeState: state,
    };
  }
  return {
    notifyType: 'fwUpgradeStateChangeNotify',
    ...idsOf(appId, task, sub),
    step: FW_STEP_OF[state],
    stepDesc: state,
  };
}

/** The result push of a finished sub-task (its `status` already success or fail). */
export function resultNotification(
  appId: string,
  task: Task,
  sub: SubTask,
  result: {
    sourceVersion: string;
    behaviour: DeviceBehaviour;
    seconds: number;
    /** `upgradeTime` as a number, as the Chinese pages type it, instead of a string. */
    numericUpgradeTime: boolean;
  },
): HuaweiNotification {
  const { sourceVersion: source, behaviour, seconds } = result;
  const ok = sub.status === 'success';
  const versions = {
    curVersion: ok ? task.targetVersion : source,
    targetVersion: task.targetVersion,
    sourceVersion: source,
  };
  const upgradeTime = result.numericUpgradeTime ? seconds : String(seconds);
  if (task.type === 'software') {
    return {
      notifyType: 'swUpgradeResultNotify',
      ...idsOf(appId, task, sub),
      ...versions,
      swUpgradeResult: ok ? 'SUCCESS' : 'FAIL',
      upgradeTime,
      resultDesc: ok ? 'The device upgrade is successful.' : 'The device upgrade fails.',
      errorCode: ok ? '0' : (behaviour.errorCode ?? '10'),
      description: ok
        ? ''
        : (behaviour.description ?? `upgrade failed after ${behaviour.failAt ?? 'updating'}`),
    };
  }
  return {
    notifyType: 'fwUpgradeResultNotify',
    ...idsOf(appId, task, sub),
    ...versions,
    status: ok ? 'SUCCESS' : 'FAIL',
    statusDesc: ok
      ? 'The device upgrade is successful.'
      : (behaviour.description ?? 'The device upgrade fails.'),
    upgradeTime,
  };
}
