import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { StoreError } from './StoreError.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else, so it is alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<dataDir>.lock` beside the data directory (PGlite's own postmaster.pid holds a fake PID
 * and locks nothing across processes, and a second process on the same directory silently loses
 * writes). Created with O_EXCL, so two processes cannot both win; a lock left by a dead process is
 * reaped, a live one is never stolen. Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = `${dataDir.replace(/[/\\]+$/, '')}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder = Number.NaN;
    let age = 0;
    try {
      holder = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      age = Date.now() - statSync(path).mtimeMs;
    } catch {
      continue; // Released between our open and our read: try again.
    }
    // No PID yet: its writer may be between its open and its write, so only an old one is torn.
    const torn = !(Number.isInteger(holder) && holder > 0);
    if ((torn && age < 5_000) || (!torn && (holder === process.pid || alive(holder))))
      throw new StoreError(
        'DATA_DIR_LOCKED',
        `data directory ${dataDir} is in use by process ${holder} (lock file ${path}); one process at a time may open it`,
        { dataDir, pid: holder, lockFile: path },
      );
    // A dead holder (or a torn file): reap it and try again.
    try {
      unlinkSync(path);
    } catch {
      // Someone else reaped it first.
    }
  }
  throw new StoreError('DATA_DIR_LOCKED', `could not take the lock file of ${dataDir}`, {
    dataDir,
  });
}
