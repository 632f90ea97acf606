import net from 'node:net';
import { BenchKitError } from './BenchKitError.js';

const HEADER_END = Buffer.from('\r\n\r\n');

export interface LoadAnswer {
  status: number;
  body: string;
}

/** One keep-alive connection; `send` resolves with the next complete answer. */
export class Connection {
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
