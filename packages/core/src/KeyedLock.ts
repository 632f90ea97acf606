/**
 * Runs async work one at a time per key, so two reports for the same target never interleave
 * their read-modify-write. Idle keys are dropped in batches, so memory follows the work in flight.
 *
 * A held key keeps the queue of those waiting for it (null while nobody waits); an idle key is
 * absent or marked idle. Taking an idle key costs no promise and no closure: every report goes through here, and
 * the idle case is the common one.
 */
export class KeyedLock {
  /**
   * Held keys: null while nobody waits (no array per take), else the waiters in line. A released
   * key stays as `false` until there are IDLE_LIMIT of them, then the idle ones go at once: deleting
   * each key as it went idle made the map rebuild its table on nearly every release.
   */
  readonly #waiting = new Map<string, Array<() => void> | null | false>();
  #idle = 0;

  /**
   * Takes the key: undefined when it was idle (it is now held, go on at once), else a promise that
   * resolves once it is handed over. Every take must be followed by exactly one `release(key)`.
   */
  acquire(key: string): Promise<void> | undefined {
    const queue = this.#waiting.get(key);
    if (queue === undefined || queue === false) {
      if (queue === false) this.#idle--;
      this.#waiting.set(key, null);
      return undefined;
    }
    return new Promise<void>((resolve) => {
      if (queue) queue.push(resolve);
      else this.#waiting.set(key, [resolve]);
    });
  }

  /** Hands the key to the next waiter in line, or marks it idle when nobody waits. */
  release(key: string): void {
    const queue = this.#waiting.get(key);
    if (queue === undefined || queue === false) return;
    const next = queue ? queue.shift() : undefined;
    if (next) {
      next();
      return;
    }
    this.#waiting.set(key, false);
    if (++this.#idle > IDLE_LIMIT) this.#sweep();
  }

  #sweep(): void {
    for (const [key, queue] of this.#waiting) if (queue === false) this.#waiting.delete(key);
    this.#idle = 0;
  }

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const turn = this.acquire(key);
    if (turn) await turn;
    try {
      return await work();
    } finally {
      this.release(key);
    }
  }
}

/** Idle keys kept before they are dropped together: memory still follows the work in flight. */
const IDLE_LIMIT = 1024;
