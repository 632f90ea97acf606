import type { Logger } from '@otaflow/core';
import { progressBar } from './progressBar.js';

/**
 * Shows progress as a redrawn bar on an interactive stderr, else as log lines at every `step`
 * percent (so piped logs stay readable and bounded).
 */
export function progressView(log: Logger, step = 10) {
  const tty = process.stderr.isTTY === true;
  const lastBucket = new Map<string, number>();
  let drawn = false;
  return {
    update(key: string, label: string, done: number, total: number, fields = {}) {
      const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
      if (tty) {
        process.stderr.write(`\r${label} ${progressBar(done, total)}`);
        drawn = true;
        if (done >= total) this.clear();
        return;
      }
      const bucket = Math.floor(percent / step);
      if (lastBucket.get(key) === bucket) return;
      lastBucket.set(key, bucket);
      log.info({ ...fields, progress: progressBar(done, total) }, label);
    },
    clear() {
      if (tty && drawn) process.stderr.write('\n');
      drawn = false;
    },
  };
}
