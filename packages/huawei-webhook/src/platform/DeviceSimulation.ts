import type { Logger } from '@otaflow/core';
import type { HuaweiNotification } from '../notifications.js';
import type { SubTask, Task } from './PlatformState.js';
import { resultNotification, SW_STATES, stateNotification } from './simulatedNotifications.js';

/** A simulated device's next upgrade. */
export interface DeviceBehaviour {
  /** Default `success`. */
  outcome?: 'success' | 'failure';
  /** With `failure`: the last state the device reaches before it fails; default `updating`. */
  failAt?: 'downloading' | 'downloaded' | 'updating';
  /** Reported in `errorCode` / `description` (software) or `statusDesc` (firmware) on failure. */
  errorCode?: string;
  description?: string;
  /** Delay before the first state, and between states; default the platform's. */
  startDelayMs?: number;
  stepDelayMs?: number;
  /** The version the device runs before its first upgrade; default `1.0`. */
  currentVersion?: string;
}

export interface DeviceSimulationOptions {
  appId: string;
  devices?: Record<string, DeviceBehaviour>;
  /** Defaults for every device: 20 ms before the first state, 20 ms between states. */
  startDelayMs?: number;
  stepDelayMs?: number;
  numericUpgradeTime?: boolean;
  /** Each push the devices cause, in order; delivery is someone else's job. */
  notify: (notification: HuaweiNotification) => void;
  logger: Logger;
}

/**
 * The devices behind the platform: each sub-task of a task walks through the software states on
 * timers, ends in success or failure as its device is told to, and settles the task.
 */
export class DeviceSimulation {
  readonly #options: DeviceSimulationOptions;
  readonly #devices = new Map<string, DeviceBehaviour>();
  readonly #versions = new Map<string, string>();
  /** Pending pauses, each with the wake-up that ends it early on close. */
  readonly #sleepers = new Map<NodeJS.Timeout, (awake: boolean) => void>();
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  constructor(options: DeviceSimulationOptions) {
    this.#options = options;
    for (const [id, behaviour] of Object.entries(options.devices ?? {}))
      this.#devices.set(id, behaviour);
  }

  setDevice(deviceId: string, behaviour: DeviceBehaviour): void {
    this.#devices.set(deviceId, behaviour);
  }

  deviceVersion(deviceId: string): string {
    return this.#versions.get(deviceId) ?? this.#devices.get(deviceId)?.currentVersion ?? '1.0';
  }

  /** Starts every device of a new task. */
  start(task: Task): void {
    for (const sub of task.subs) {
      const work = this.#run(task, sub)
        .catch((error: unknown) => this.#options.logger.error({ err: error }, 'simulation failed'))
        .finally(() => this.#running.delete(work));
      this.#running.add(work);
    }
  }

  /** Stops every device where it is; resolves once none runs. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const [timer, wake] of this.#sleepers) {
      clearTimeout(timer);
      wake(false);
    }
    this.#sleepers.clear();
    await Promise.allSettled([...this.#running]);
  }

  /** Resolves true after `ms`, or false at once when closed meanwhile. */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.#closed) return resolve(false);
      const timer = setTimeout(() => {
        this.#sleepers.delete(timer);
        resolve(!this.#closed);
      }, ms);
      this.#sleepers.set(timer, resolve);
    });
  }

  async #run(task: Task, sub: SubTask): Promise<void> {
    const options = this.#options;
    const behaviour = this.#devices.get(sub.deviceId) ?? {};
    const stepDelay = behaviour.stepDelayMs ?? options.stepDelayMs ?? 20;
    if (!(await this.#sleep(behaviour.startDelayMs ?? options.startDelayMs ?? 20))) return;
    const started = Date.now();
    sub.status = 'processing';
    sub.startTime = started;
    if (task.status === 'wait') {
      task.status = 'processing';
      task.startTime = started;
    }
    const failing = behaviour.outcome === 'failure';
    const reached = failing
      ? SW_STATES.indexOf(behaviour.failAt ?? 'updating')
      : SW_STATES.indexOf('updating');
    const states = [...SW_STATES.slice(0, reached + 1), 'idle' as const];
    for (const state of states) {
      options.notify(stateNotification(options.appId, task, sub, state));
      if (!(await this.#sleep(stepDelay))) return;
    }
    const sourceVersion = this.deviceVersion(sub.deviceId);
    if (!failing) this.#versions.set(sub.deviceId, task.targetVersion);
    sub.status = failing ? 'fail' : 'success';
    sub.stopTime = Date.now();
    sub.detailInfo = failing
      ? { errorCode: behaviour.errorCode ?? '10', description: behaviour.description ?? '' }
      : {};
    const seconds = Math.max(1, Math.round((sub.stopTime - started) / 1000));
    options.notify(
      resultNotification(options.appId, task, sub, {
        sourceVersion,
        behaviour,
        seconds,
        numericUpgradeTime: options.numericUpgradeTime ?? false,
      }),
    );
    if (task.subs.every((s) => s.status !== 'wait' && s.status !== 'processing')) {
      task.status = task.subs.every((s) => s.status === 'success') ? 'success' : 'failed';
      task.stopTime = Date.now();
    }
  }
}
