import type { Logger } from '@otaflow/core';
import type { PendingCommand } from './correlation.js';
import type { IotHubError } from './IotHubError.js';

/** How an unanswered command is sent again (see the README, "Command retries"). */
export interface CommandRetryOptions {
  /** Sends in all, the first included (default 5); afterwards only a feature announcement re-sends. */
  attempts?: number;
  /** Pause after the first unanswered send, doubled after each further one (default 2 s). */
  backoffMs?: number;
  /** Upper bound of the pause (default 60 s). */
  maxBackoffMs?: number;
}

export interface CommandDeliveryOptions {
  retry?: CommandRetryOptions | undefined;
  /** The command the action still owes its device, read afresh before every send. */
  pendingCommand: (actionId: number) => Promise<PendingCommand | undefined>;
  /** One attempt; rejects with an `IotHubError` when unanswered or refused. */
  send: (actionId: number, command: PendingCommand) => Promise<unknown>;
  log: Logger;
}

interface Loop {
  woken: boolean;
  wake: () => void;
}

/** Only these mean the device may not have heard; any other failure is final for this send loop. */
const UNANSWERED = new Set(['RESPONSE_TIMEOUT', 'NOT_CONNECTED']);

/**
 * Sends an action's pending command until the device answers: after a response timeout again with
 * a doubling pause, `retry.attempts` sends in all; `wake` (a feature announcement of the device)
 * cuts a pause short and grants a fresh set of attempts. One loop per action.
 */
export class CommandDelivery {
  readonly #options: CommandDeliveryOptions;
  readonly #attempts: number;
  readonly #base: number;
  readonly #max: number;
  /** Actions with a send loop running, so an announcement does not start a second one. */
  readonly #loops = new Map<number, Loop>();
  #stopped = false;

  constructor(options: CommandDeliveryOptions) {
    this.#options = options;
    const retry = options.retry ?? {};
    this.#attempts = Math.max(1, retry.attempts ?? 5);
    this.#base = retry.backoffMs ?? 2000;
    this.#max = retry.maxBackoffMs ?? 60_000;
  }

  start(): void {
    this.#stopped = false;
  }

  /** Ends every loop at its next step. */
  stop(): void {
    this.#stopped = true;
    for (const loop of this.#loops.values()) loop.wake();
  }

  /** Wakes the action's loop when one runs (fresh attempts); else starts one if a command is owed. */
  async resend(actionId: number): Promise<void> {
    const loop = this.#loops.get(actionId);
    if (loop) {
      loop.woken = true;
      loop.wake();
    } else if (await this.#options.pendingCommand(actionId)) void this.deliver(actionId);
  }

  async deliver(actionId: number): Promise<void> {
    if (this.#loops.has(actionId)) return;
    const { log, send, pendingCommand } = this.#options;
    const attempts = this.#attempts;
    const loop: Loop = { woken: false, wake: () => {} };
    this.#loops.set(actionId, loop);
    try {
      for (let attempt = 1; !this.#stopped; attempt++) {
        const command = await pendingCommand(actionId);
        if (!command) return;
        loop.woken = false;
        try {
          await send(actionId, command);
          return;
        } catch (err) {
          if (!UNANSWERED.has((err as IotHubError).code)) {
            // The device answered and said no (COMMAND_FAILED): sending it again changes nothing.
            log.warn({ err, actionId }, 'command failed');
            return;
          }
          if (loop.woken) {
            attempt = 0;
            continue;
          }
          if (attempt >= attempts) {
            log.warn(
              { actionId, command, attempts },
              'command unanswered; sent again when the device announces itself',
            );
            return;
          }
          log.info({ actionId, command, attempt }, 'command unanswered; sending again');
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(this.#max, this.#base * 2 ** (attempt - 1)));
          loop.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        loop.wake = () => {};
        if (loop.woken) attempt = 0;
      }
    } finally {
      this.#loops.delete(actionId);
    }
  }
}
