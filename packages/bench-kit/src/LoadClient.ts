import net from 'node:net';
import { BenchKitError } from './BenchKitError.js';
import { encodeRequest } from './encodeRequest.js';

/**
 * The benchmarks' load generator: keep-alive HTTP/1.1 connections over raw sockets, one request in
 * flight per connection (no pipelining), requests encoded before the clock starts and answers
 * read only as far as the status line and Content-Length. It exists so that the server, not the
 * client, is what runs out of CPU: node:http's client and undici cost as much per request as a
 * bare node:http server, so with them a baseline was partly client-bound and every ratio to it
 * read too high. Connections stay open from one drive to the next.
 */

const HEADER_END = Buffer.from('\r\n\r\n');

export interface LoadAnswer {
  status: number;
  body: string;
}

/** One keep-alive connection; `send` resolves with the next complete answer. */
class Connection {
  readonly #socket: net.Socket;
  #buffered: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (a: LoadAnswer) => void; reject: (e: Error) => void } | undefined;
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
    this.#socket.on('close', () =>
      fail(new BenchKitError('CONNECTION_CLOSED', 'connection closed by the server')),
    );
  }

  get usable(): boolean {
    return this.#closed === undefined;
  }

  send(request: Buffer): Promise<LoadAnswer> {
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
      this.#socket.destroy(
        new BenchKitError('BAD_ANSWER', `answer without Content-Length: ${head.split('\r\n')[0]}`),
      );
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
  readonly url: URL;
  readonly #connections: Connection[] = [];

  /** `url`: the server's origin (its path is not used). */
  constructor(
    url: string,
    readonly concurrency: number,
  ) {
    this.url = new URL(url);
  }

  /** A request to this server, encoded (do it before timing). */
  request(
    method: string,
    path: string,
    headers?: Readonly<Record<string, string>>,
    body?: string | Buffer,
  ): Buffer {
    return encodeRequest(method, this.url, path, headers, body);
  }

  /**
   * Sends every sequence's requests in order on one connection, `concurrency` sequences at a time;
   * every answer must have status `expect` (default 200). Returns requests per second.
   */
  async drive(sequences: readonly (readonly Buffer[])[], expect = 200): Promise<number> {
    for (let i = 0; i < this.concurrency; i++) {
      if (!this.#connections[i]?.usable)
        this.#connections[i] = new Connection(Number(this.url.port), this.url.hostname);
    }
    let next = 0;
    let sent = 0;
    const started = performance.now();
    const worker = async (connection: Connection) => {
      for (let i = next++; i < sequences.length; i = next++) {
        for (const request of sequences[i]!) {
          const answer = await connection.send(request);
          if (answer.status !== expect) {
            throw new BenchKitError(
              'UNEXPECTED_STATUS',
              `answer ${answer.status}, expected ${expect}: ${answer.body.slice(0, 200)}`,
            );
          }
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
