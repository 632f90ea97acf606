/**
 * Runs async work one at a time per key, so two reports for the same target never interleave
 * their read-modify-write. Keys are dropped once idle, so memory follows the work in flight.
 *
 * A held key keeps the queue of those waiting for it (null while nobody waits); an idle key is
 * absent. Taking an idle key costs no promise and no closure: every report goes through here, and
 * the idle case is the common one.
 */
export class KeyedLock {
  /** Held keys: null while nobody waits (no array per take), else the waiters in line. */
  readonly #waiting = new Map<string, Array<() => void> | null>();

  /**
   * Takes the key: undefined when it was idle (it is now held, go on at once), else a promise that
   * resolves once it is handed over. Every take must be followed by exactly one `release(key)`.
   */
  acquire(key: string): Promise<void> | undefined {
    const queue = this.#waiting.get(key);
    if (queue === undefined) {
      this.#waiting.set(key, null);
      return undefined;
    }
    return new Promise<void>((resolve) => {
      if (queue) queue.push(resolve);
      else this.#waiting.set(key, [resolve]);
    });
  }

  /** Hands the key to the next waiter in line, or drops it when nobody waits. */
  release(key: string): void {
    const queue = this.#waiting.get(key);
    const next = queue ? queue.shift() : undefined;
    if (next) next();
    else this.#waiting.delete(key);
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
