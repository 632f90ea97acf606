import type { ServerResponse } from 'node:http';
import type { EventLog } from './EventLog.js';
import { HEARTBEAT_FRAME } from './eventFrames.js';

/**
 * One `/events` connection: no queue of its own, only its position in the shared log. It writes
 * while its socket takes what it is given, waits for `drain` when not, and is cut off once it lags
 * `maxPending` events behind (or the log has dropped what it still needs).
 */
export class SseClient {
  #draining = false;

  constructor(
    readonly res: ServerResponse,
    readonly log: EventLog,
    /** The last position sent. */
    public sent: number,
    readonly maxPending: number,
    readonly onEnd: () => void,
  ) {}

  /** Sends what the log has beyond `sent`, as far as the socket takes it. */
  pump(): void {
    while (!this.#draining && this.sent < this.log.newest) {
      const next = this.log.at(this.sent + 1);
      if (!next || this.log.newest - this.sent > this.maxPending) {
        this.end(true);
        return;
      }
      this.sent = next.seq;
      if (!this.res.write(next.frame)) this.#wait();
    }
    if (this.#draining && this.log.newest - this.sent > this.maxPending) this.end(true);
  }

  beat(): void {
    if (!this.#draining && !this.res.write(HEARTBEAT_FRAME)) this.#wait();
  }

  #wait(): void {
    this.#draining = true;
    this.res.once('drain', () => {
      this.#draining = false;
      this.pump();
    });
  }

  /** `abort`: the client fell behind; cut the connection rather than wait for its buffers. */
  end(abort: boolean): void {
    this.onEnd();
    if (abort) this.res.destroy();
    else this.res.end();
  }
}
