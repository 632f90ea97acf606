import { progressBar } from '@otaflow/cli';

export interface ChannelProgress {
  channel: string;
  done: number;
  total: number;
  /** e.g. `2 finished, 1 running` */
  detail: string;
}

/**
 * One bar per channel. On a terminal the bars are redrawn in place; elsewhere (CI logs, pipes)
 * one plain line is written every `plainEveryMs`, and always when something finished.
 */
export class ProgressView {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #plainEveryMs: number;
  #drawn = 0;
  #lastPlain = 0;
  #lastDone = -1;

  constructor(out: NodeJS.WriteStream, options: { plainEveryMs?: number } = {}) {
    this.#out = out;
    this.#tty = out.isTTY === true;
    this.#plainEveryMs = options.plainEveryMs ?? 2000;
  }

  render(channels: readonly ChannelProgress[], elapsedMs: number): void {
    const lines = channels.map(
      (c) => `  ${c.channel.padEnd(7)} ${progressBar(c.done, c.total)}  ${c.detail}`,
    );
    if (this.#tty) {
      const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
      this.#out.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
      this.#drawn = lines.length;
      return;
    }
    const done = channels.reduce((n, c) => n + c.done, 0);
    const now = Date.now();
    if (done === this.#lastDone && now - this.#lastPlain < this.#plainEveryMs) return;
    this.#lastDone = done;
    this.#lastPlain = now;
    const summary = channels.map((c) => `${c.channel} ${c.done}/${c.total}`).join(', ');
    this.#out.write(`[${(elapsedMs / 1000).toFixed(1)}s] progress: ${summary}\n`);
  }
}
