import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface SpawnAppOptions {
  /** Added to (or, where undefined, removed from) this process's environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Each line the app writes, stdout and stderr alike, as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** More Node flags, e.g. `['--cpu-prof', '--cpu-prof-dir=prof']`. */
  nodeArgs?: readonly string[];
}

export interface AppExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

export interface AppProcess {
  child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first line that satisfies `match`, or rejects after `timeoutMs` or on exit. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  readonly done: Promise<AppExit>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<AppExit>;
}

/**
 * Runs an otaflow app from its TypeScript source in a child process, with the loader and export
 * condition the workspace uses. Apps never import one another, so this is how one app (the demo)
 * starts another, and how tests run an app the way a user does.
 */
export function spawnApp(
  mainFile: string,
  args: readonly string[] = [],
  options: SpawnAppOptions = {},
): AppProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const node = ['--import', 'tsx', '--conditions=@otaflow/source', ...(options.nodeArgs ?? [])];
  const child = spawn(process.execPath, [...node, mainFile, ...args], {
    env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters = new Set<(line: string) => void>();
  const onLine = (stream: 'stdout' | 'stderr') => (line: string) => {
    options.onLine?.(line, stream);
    for (const waiter of waiters) waiter(line);
  };
  child.stdout?.on('data', (d: Buffer) => {
    out += d;
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d;
  });
  if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine('stdout'));
  if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine('stderr'));
  const done = new Promise<AppExit>((resolve) => {
    // 'close' waits for the pipes to drain, so `out` and `err` are complete.
    child.once('close', (code, signal) => resolve({ code, signal, out, err }));
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    waitForLine(match, timeoutMs = 30_000) {
      return new Promise<string>((resolve, reject) => {
        const finish = (fn: () => void) => {
          waiters.delete(waiter);
          clearTimeout(timer);
          fn();
        };
        const waiter = (line: string) => {
          if (match(line)) finish(() => resolve(line));
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new Error(
                  `no matching line within ${timeoutMs} ms; stderr tail:\n${err.slice(-2000)}`,
                ),
              ),
            ),
          timeoutMs,
        );
        waiters.add(waiter);
        void done.then((exit) =>
          finish(() =>
            reject(
              new Error(
                `app exited (code ${exit.code}) before the line; stderr tail:\n${err.slice(-2000)}`,
              ),
            ),
          ),
        );
      });
    },
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const exit = await done;
        clearTimeout(timer);
        return exit;
      }
      return done;
    },
  };
}

/** Polls `probe` until it returns something truthy; for tests and scripts that wait on a state. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  what: string,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
