import { KeyedLock } from '@otaflow/core';

export interface ReportQueueOptions<T> {
  /** Works on one item; items of one key never overlap and start in arrival order. */
  work: (key: string, item: T) => Promise<void>;
  /** What `work` threw; the key's next items go on regardless. */
  onError: (key: string, error: unknown) => void;
}

/**
 * Items worked on one at a time per key (a device) in arrival order, keys in parallel, on core's
 * `KeyedLock`. Work starts after mqtt.js has gone through the packets it holds (`setImmediate`):
 * mqtt.js handles one packet per tick, and work started at once would run before the next packet
 * was even read, so the broker would wait for core before getting the next PUBACKs.
 */
export class ReportQueue<T> {
  readonly #lock = new KeyedLock();
  readonly #options: ReportQueueOptions<T>;
  /** Arrived since the last flush, in arrival order. */
  #ready: { key: string; item: T }[] = [];
  #flush = () => {
    const ready = this.#ready;
    this.#ready = [];
    // The lock is taken in arrival order, here, synchronously: that is what keeps each key's order.
    for (const { key, item } of ready) void this.#run(key, item);
  };

  constructor(options: ReportQueueOptions<T>) {
    this.#options = options;
  }

  push(key: string, item: T): void {
    if (this.#ready.push({ key, item }) === 1) setImmediate(this.#flush);
  }

  async #run(key: string, item: T): Promise<void> {
    const turn = this.#lock.acquire(key);
    if (turn) await turn;
    try {
      await this.#options.work(key, item);
    } catch (error) {
      this.#options.onError(key, error);
    } finally {
      this.#lock.release(key);
    }
  }
}
