import { BenchKitError } from './BenchKitError.js';
import { Connection } from './Connection.js';
import { encodeRequest } from './encodeRequest.js';

/**
 * The benchmarks' load generator: keep-alive HTTP/1.1 connections over raw sockets, one request in
 * flight per connection (no pipelining), requests encoded before the clock starts and answers
 * read only as far as the status line and Content-Length. It exists so that the server, not the
 * client, is what runs out of CPU: node:http's client and undici cost as much per request as a
 * bare node:http server, so with them a baseline was partly client-bound and every ratio to it
 * read too high. Connections stay open from one drive to the next: `concurrency` connections to
 * one server, reopened when the server has closed one.
 */
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
