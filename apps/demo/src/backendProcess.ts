import { fileURLToPath } from 'node:url';
import { startReadyApp } from '@otaflow/cli';
import { z } from 'zod';

/** The backend's `ready` log line: the fields the demo needs (the backend README documents it). */
export const BackendReady = z.object({
  msg: z.literal('ready'),
  url: z.string().url(),
  mqttUrl: z.string(),
  embeddedBroker: z.boolean(),
  tenant: z.string(),
  managementApi: z.string().url(),
  /** The console's URL (`/ui/`). */
  console: z.string().url().optional(),
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
  const app = await startReadyApp(BACKEND_MAIN, options.args, {
    ...(options.env ? { env: options.env } : {}),
    ...(options.onLine ? { onLine: options.onLine } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  const parsed = BackendReady.safeParse(app.ready);
  if (!parsed.success) {
    await app.stop(1000);
    throw new Error(`unreadable ready line from the backend: ${JSON.stringify(app.ready)}`);
  }
  return { ready: parsed.data, problems: app.problems, stop: app.stop, exited: app.exited };
}
