import net from 'node:net';

/**
 * The benchmark's load generator: keep-alive HTTP/1.1 connections over raw sockets, one request in
 * flight per connection (the platform does not pipeline), requests encoded before the clock
 * starts and answers read only as far as the status line and Content-Length. It exists so that
 * the server, not the client, is what runs out of CPU: node:http's client costs about as much per
 * request as the bare handler it is measuring, so with it the baseline was partly client-bound.
 * Connections stay open from one drive to the next, as the platform's would.
 */

const HEADER_END = Buffer.from('\r\n\r\n');

/** A request ready to write: the whole message in one buffer. */
export function encodePost(host: string, path: string, body: string): Buffer {
  const payload = Buffer.from(body);
  return Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${payload.length}\r\n\r\n`,
    ),
    payload,
  ]);
}

interface Answer {
  status: number;
  body: string;
}

/** One keep-alive connection; `send` resolves with the next complete answer. */
class Connection {
  readonly #socket: net.Socket;
  #buffered: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void } | undefined;
  #closed: Error | undefined;

  constructor(port: number, host: string) {
    this.#socket = net.connect({ port, host, noDelay: true });
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const fail = (error: Error) => {
      this.#closed ??= error;
      this.#waiting?.reject(error);
      this.#waiting = undefined;
    };
    this.#socket.on('error', fail);
    this.#socket.on('close', () => fail(new Error('connection closed by the server')));
  }

  get usable(): boolean {
    return this.#closed === undefined;
  }

  send(request: Buffer): Promise<Answer> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(request);
    });
  }

  #onData(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    const end = this.#buffered.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.#buffered.toString('latin1', 0, end);
    const match = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!match) {
      this.#socket.destroy(new Error(`answer without Content-Length: ${head}`));
      return;
    }
    const total = end + HEADER_END.length + Number(match[1]);
    if (this.#buffered.length < total) return;
    const answer = {
      status: Number(head.slice(9, 12)),
      body: this.#buffered.toString('utf8', end + HEADER_END.length, total),
    };
    this.#buffered = this.#buffered.subarray(total);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(answer);
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** `concurrency` connections to one server, reopened when the server has closed one. */
export class LoadClient {
  readonly #url: URL;
  readonly #connections: Connection[] = [];

  constructor(
    url: string,
    readonly concurrency: number,
  ) {
    this.#url = new URL(url);
  }

  /** Encodes every action's bodies for this server (do it before timing). */
  encode(perAction: string[][]): Buffer[][] {
    return perAction.map((bodies) =>
      bodies.map((body) => encodePost(this.#url.host, this.#url.pathname, body)),
    );
  }

  /**
   * Sends every action's requests in order on one connection, `concurrency` actions at a time;
   * every answer must be 200. Returns requests per second.
   */
  async drive(perAction: Buffer[][]): Promise<number> {
    for (let i = 0; i < this.concurrency; i++) {
      if (!this.#connections[i]?.usable)
        this.#connections[i] = new Connection(Number(this.#url.port), this.#url.hostname);
    }
    let next = 0;
    let sent = 0;
    const started = performance.now();
    const worker = async (connection: Connection) => {
      for (let i = next++; i < perAction.length; i = next++) {
        for (const request of perAction[i]!) {
          const answer = await connection.send(request);
          if (answer.status !== 200) throw new Error(`answer ${answer.status}: ${answer.body}`);
          sent++;
        }
      }
    };
    await Promise.all(this.#connections.map(worker));
    return sent / ((performance.now() - started) / 1000);
  }

  close(): void {
    for (const connection of this.#connections) connection.close();
  }
}
