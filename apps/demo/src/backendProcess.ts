import { fileURLToPath } from 'node:url';
import { type AppExit, spawnApp } from '@otaflow/cli';
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
  /** Added to (or, where undefined, removed from) the demo's own environment. */
  env?: Record<string, string | undefined>;
  /** Every backend log line, as written. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
}): Promise<BackendProcess> {
  const problems: string[] = [];
  const remember = (line: string) => {
    problems.push(line);
    if (problems.length > 50) problems.shift();
  };
  const app = spawnApp(BACKEND_MAIN, options.args, {
    ...(options.env ? { env: options.env } : {}),
    onLine: (line, stream) => {
      options.onLine?.(line);
      if (stream === 'stderr') return remember(line);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return remember(line);
      }
      if (entry.level === 'warn' || entry.level === 'error') remember(line);
    },
  });
  const codeOf = (exit: AppExit) => exit.code ?? (exit.signal ? 128 : null);
  const stop = async (graceMs = 5000) => codeOf(await app.stop(graceMs));
  let ready: BackendReady;
  try {
    const line = await app.waitForLine(
      (l) => l.includes('"msg":"ready"'),
      options.timeoutMs ?? 30_000,
    );
    const parsed = BackendReady.safeParse(JSON.parse(line));
    if (!parsed.success) throw new Error(`unreadable ready line: ${line}`);
    ready = parsed.data;
  } catch (error) {
    await stop(1000);
    throw new Error(
      `the backend did not get ready: ${(error as Error).message}\n${problems.join('\n')}`,
    );
  }
  return { ready, problems, stop, exited: app.done.then(codeOf) };
}
