import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The backend's `ready` log line: the fields the demo needs (the backend README documents it). */
export const BackendReady = z.object({
  msg: z.literal('ready'),
  url: z.string().url(),
  mqttUrl: z.string(),
  embeddedBroker: z.boolean(),
  tenant: z.string(),
  managementApi: z.string().url(),
  sie: z.boolean(),
  sieExchange: z.string().optional(),
  sieQueue: z.string().optional(),
  inspector: z.string().optional(),
});
export type BackendReady = z.infer<typeof BackendReady>;

export interface BackendProcess {
  ready: BackendReady;
  /** Log lines (parsed JSON) the backend wrote at `warn` or above, and non-JSON output. */
  problems: string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

/**
 * apps import packages, never another app: the backend runs as a child process, started from its
 * source with the same loader the demo runs under, and found relative to this file.
 */
export const BACKEND_MAIN = fileURLToPath(new URL('../../backend/src/main.ts', import.meta.url));

export async function startBackendProcess(options: {
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Every backend log line, as written. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
}): Promise<BackendProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@otaflow/source', BACKEND_MAIN, ...options.args],
    { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const problems: string[] = [];
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))),
  );
  const remember = (line: string) => {
    problems.push(line);
    if (problems.length > 50) problems.shift();
  };
  let resolveReady: (ready: BackendReady) => void = () => {};
  const readyLine = new Promise<BackendReady>((resolve) => {
    resolveReady = resolve;
  });
  const stdout = child.stdout;
  const stderr = child.stderr;
  if (!stdout || !stderr) throw new Error('backend child has no pipes');
  createInterface({ input: stdout }).on('line', (line) => {
    options.onLine?.(line);
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      remember(line);
      return;
    }
    if (entry.msg === 'ready') {
      const parsed = BackendReady.safeParse(entry);
      if (parsed.success) resolveReady(parsed.data);
      else remember(`unreadable ready line: ${line}`);
    } else if (entry.level === 'warn' || entry.level === 'error') remember(line);
  });
  createInterface({ input: stderr }).on('line', (line) => {
    options.onLine?.(line);
    remember(line);
  });

  const stop = async (graceMs = 5000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    }
    return exited;
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
    throw new Error(`the backend ${why}:\n${problems.join('\n')}`);
  }
  return { ready: outcome.ready, problems, stop, exited };
}
