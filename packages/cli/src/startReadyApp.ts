import { type AppExit, type SpawnAppOptions, spawnApp } from './spawnApp.js';

export interface ReadyApp {
  readonly pid: number;
  /** The parsed `ready` line: whatever the app logged with `"msg":"ready"`. */
  readonly ready: Record<string, unknown>;
  /** Warn and error log lines, stderr and non-JSON output: the last 50, for failure messages. */
  readonly problems: string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (128 after a signal). */
  stop(graceMs?: number): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

export interface StartReadyAppOptions extends SpawnAppOptions {
  timeoutMs?: number;
}

/**
 * Starts an otaflow app in a child process (see `spawnApp`) and waits for the JSON log line with
 * `"msg":"ready"` that apps print once they listen, so the caller learns the addresses from it.
 * Apps never import each other: the demo and the fleet benchmark drive the backend this way.
 */
export async function startReadyApp(
  mainFile: string,
  args: readonly string[] = [],
  options: StartReadyAppOptions = {},
): Promise<ReadyApp> {
  const problems: string[] = [];
  const remember = (line: string) => {
    problems.push(line);
    if (problems.length > 50) problems.shift();
  };
  const app = spawnApp(mainFile, args, {
    ...options,
    onLine: (line, stream) => {
      options.onLine?.(line, stream);
      if (stream === 'stderr') return remember(line);
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        return remember(line);
      }
      const level = (entry as { level?: unknown } | null)?.level;
      if (level === 'warn' || level === 'error') remember(line);
    },
  });
  const codeOf = (exit: AppExit) => exit.code ?? (exit.signal ? 128 : null);
  const stop = async (graceMs = 5000) => codeOf(await app.stop(graceMs));
  let ready: Record<string, unknown>;
  try {
    const line = await app.waitForLine(
      (l) => l.includes('"msg":"ready"'),
      options.timeoutMs ?? 30_000,
    );
    ready = JSON.parse(line) as Record<string, unknown>;
  } catch (error) {
    await stop(1000);
    throw new Error(
      `${mainFile} did not get ready: ${(error as Error).message}\n${problems.join('\n')}`,
    );
  }
  return { pid: app.child.pid as number, ready, problems, stop, exited: app.done.then(codeOf) };
}
