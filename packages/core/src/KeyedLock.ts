/**
 * Runs async work one at a time per key, so two reports for the same target never interleave
 * their read-modify-write. Keys are dropped once idle, so memory follows the work in flight.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    // Nothing in flight for the key: start at once rather than a microtask later (every report
    // goes through here, and the idle case is the common one).
    const result = previous ? previous.then(work, work) : start(work);
    const release = (): void => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
    const tail: Promise<void> = result.then(release, release);
    this.#tails.set(key, tail);
    return result;
  }
}

function start<T>(work: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}
