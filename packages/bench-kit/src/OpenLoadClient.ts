import { BenchKitError } from './BenchKitError.js';
import { Connection } from './Connection.js';
import { encodeRequest } from './encodeRequest.js';

export interface OpenLoadResult {
  /** Requests due in the window (rate × seconds). */
  sent: number;
  /** Answers with the expected status. */
  answered: number;
  /** Answers with another status, and requests whose connection failed. */
  failed: number;
  /** Answered requests per second, over the time from the first request to the last answer. */
  perSecond: number;
  /** Each answered request's time from when it was due to its answer, in ms, ascending. */
  latenciesMs: Float64Array;
  /** The first failure's text, if any. */
  firstFailure?: string;
}

/** The `p` quantile (0..1) of ascending values, nearest rank. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/**
 * Open-loop load: requests start at a constant arrival rate whatever the server does, so a slow
 * answer does not slow the arrivals down (a closed loop would wait and hide the queue). Each
 * request's latency runs from when it was due, not from when a connection took it: time spent
 * waiting for a free connection or in the server's queue counts. Connections are opened as the
 * load needs them, up to `maxConnections`; past that, due requests wait in order.
 */
export class OpenLoadClient {
  readonly url: URL;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();

  constructor(
    url: string,
    readonly maxConnections: number,
  ) {
    this.url = new URL(url);
  }

  /** A request to this server, encoded. */
  request(
    method: string,
    path: string,
    headers?: Readonly<Record<string, string>>,
    body?: string | Buffer,
  ): Buffer {
    return encodeRequest(method, this.url, path, headers, body);
  }

  /** `rate` requests a second for `seconds`; `make(i)` encodes the i-th. Waits for every answer. */
  async run(
    rate: number,
    seconds: number,
    make: (i: number) => Buffer,
    expect = 200,
  ): Promise<OpenLoadResult> {
    const total = Math.round(rate * seconds);
    const latencies = new Float64Array(total);
    const waiting: { request: Buffer; due: number }[] = [];
    let answered = 0;
    let failed = 0;
    let done = 0;
    let firstFailure: string | undefined;
    let lastAnswer = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const settle = () => {
      if (++done === total) finish();
    };
    const take = (): Connection | undefined => {
      while (this.#idle.length > 0) {
        const c = this.#idle.pop()!;
        if (c.usable) return c;
        this.#all.delete(c);
      }
      if (this.#all.size < this.maxConnections) {
        const c = new Connection(Number(this.url.port), this.url.hostname);
        this.#all.add(c);
        return c;
      }
      return undefined;
    };
    const send = (connection: Connection, request: Buffer, due: number) => {
      connection.send(request).then(
        (answer) => {
          const now = performance.now();
          lastAnswer = now;
          if (answer.status === expect) latencies[answered++] = now - due;
          else {
            failed++;
            firstFailure ??= `answer ${answer.status}: ${answer.body.slice(0, 200)}`;
          }
          release(connection);
          settle();
        },
        (error: Error) => {
          failed++;
          firstFailure ??= error.message;
          this.#all.delete(connection);
          // A closed keep-alive connection is replaced for what waits.
          const next = waiting.shift();
          if (next) dispatch(next.request, next.due);
          settle();
        },
      );
    };
    const release = (connection: Connection) => {
      const next = waiting.shift();
      if (next && connection.usable) send(connection, next.request, next.due);
      else {
        if (connection.usable) this.#idle.push(connection);
        else this.#all.delete(connection);
        if (next) dispatch(next.request, next.due);
      }
    };
    const dispatch = (request: Buffer, due: number) => {
      const connection = take();
      if (connection) send(connection, request, due);
      else waiting.push({ request, due });
    };

    const started = performance.now();
    const interval = 1000 / rate;
    let issued = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(total, Math.floor((now - started) / interval) + 1);
        for (; issued < due; issued++) dispatch(make(issued), started + issued * interval);
        if (issued < total) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
    if (total > 0) await finished;
    if (failed > 0 && answered === 0)
      throw new BenchKitError('UNEXPECTED_STATUS', `every request failed: ${firstFailure}`);
    const sorted = latencies.slice(0, answered).sort();
    return {
      sent: total,
      answered,
      failed,
      perSecond: answered / ((lastAnswer - started) / 1000),
      latenciesMs: sorted,
      ...(firstFailure ? { firstFailure } : {}),
    };
  }

  close(): void {
    for (const c of this.#all) c.close();
    this.#all.clear();
    this.#idle.length = 0;
  }
}
