import { readFileSync } from 'node:fs';

export interface ProcStats {
  /** Peak resident set (VmHWM). */
  peakRssBytes: number;
  rssBytes: number;
  /** utime + stime. */
  cpuSeconds: number;
}

/** Linux's CLK_TCK; 100 on every mainstream kernel build, and `getconf` would be a process. */
const CLOCK_TICKS = 100;

/** Reads /proc/<pid>/status and /proc/<pid>/stat; undefined once the process is gone. */
export function readProcStats(pid: number): ProcStats | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return {
      peakRssBytes: kib('VmHWM'),
      rssBytes: kib('VmRSS'),
      cpuSeconds: (utime + stime) / CLOCK_TICKS,
    };
  } catch {
    return undefined;
  }
}
