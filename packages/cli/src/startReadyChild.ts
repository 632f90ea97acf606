import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ReadyChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The parsed `ready` line (whatever the child logged with `"msg":"ready"`). */
  readonly ready: Record<string, unknown>;
  /** Warn/error log lines and non-JSON output, the last 50. */
  readonly problems: string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (128 after a signal). */
  stop(graceMs?: number): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

export interface ReadyChildOptions {
  /** The script; started with `node <nodeArgs> <script> <args>`. */
  script: string;
  args?: readonly string[];
  /** Node flags before the script, e.g. `['--import', 'tsx', '--cpu-prof']`. */
  nodeArgs?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Every stdout/stderr line, as written. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
}

/**
 * Starts a Node app as a child process and waits for the JSON log line with `"msg":"ready"` that
 * otaflow apps print once they listen. Apps never import each other, so one app drives another
 * (the demo, the fleet benchmark) through this, reading the child's addresses from that line.
 */
export async function startReadyChild(options: ReadyChildOptions): Promise<ReadyChild> {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), options.script, ...(options.args ?? [])],
    { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const problems: string[] = [];
  const remember = (line: string) => {
    problems.push(line);
    if (problems.length > 50) problems.shift();
  };
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))),
  );
  let onReady: (ready: Record<string, unknown>) => void = () => {};
  const readyLine = new Promise<Record<string, unknown>>((resolve) => {
    onReady = resolve;
  });
  if (!child.stdout || !child.stderr) throw new Error('child has no pipes');
  createInterface({ input: child.stdout }).on('line', (line) => {
    options.onLine?.(line);
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      remember(line);
      return;
    }
    if (typeof entry !== 'object' || entry === null) return remember(line);
    const fields = entry as Record<string, unknown>;
    if (fields.msg === 'ready') onReady(fields);
    else if (fields.level === 'warn' || fields.level === 'error') remember(line);
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    options.onLine?.(line);
    remember(line);
  });

  const stop = async (graceMs = 5000) => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    readyLine.then((ready) => ({ kind: 'ready' as const, ready })),
    exited.then((code) => ({ kind: 'exited' as const, code })),
    new Promise<{ kind: 'timeout' }>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), options.timeoutMs ?? 30_000);
    }),
  ]);
  clearTimeout(timer);
  if (outcome.kind !== 'ready') {
    await stop(1000);
    const why =
      outcome.kind === 'exited' ? `exited with code ${outcome.code}` : 'was not ready in time';
    throw new Error(`${options.script} ${why}:\n${problems.join('\n')}`);
  }
  return { child, pid: child.pid as number, ready: outcome.ready, problems, stop, exited };
}
