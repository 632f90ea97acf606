/** One event as the stream sends it, serialized once for every client. */
export interface LoggedEvent {
  /** Position in this backend's log: 1, 2, 3... */
  readonly seq: number;
  /** The SSE frame (`id`, `event`, `data`), ready to write. */
  readonly frame: string;
}

/**
 * The last `capacity` events, numbered. Clients keep only a position in it, not a queue of their
 * own, so the memory the stream holds is this ring, whatever the number or speed of clients.
 */
export class EventLog {
  readonly #ring: (LoggedEvent | undefined)[];
  #newest = 0;

  constructor(readonly capacity: number) {
    this.#ring = new Array(capacity);
  }

  get newest(): number {
    return this.#newest;
  }

  /** The oldest position still held. */
  get oldest(): number {
    return Math.max(1, this.#newest - this.capacity + 1);
  }

  append(frameOf: (seq: number) => string): LoggedEvent {
    const seq = ++this.#newest;
    const event = { seq, frame: frameOf(seq) };
    this.#ring[seq % this.capacity] = event;
    return event;
  }

  /** The event at `seq`; undefined once the ring has dropped it, or before it happened. */
  at(seq: number): LoggedEvent | undefined {
    if (seq < this.oldest || seq > this.#newest) return undefined;
    return this.#ring[seq % this.capacity];
  }
}
