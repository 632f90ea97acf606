import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FleetBenchError } from './FleetBenchError.js';
import { type SimCommand, SimProgress, SimReply } from './protocol.js';

/** Runs TypeScript children from source with the loader and conditions the app runs under. */
export const CHILD_NODE_ARGS = ['--import', 'tsx', '--conditions=@otaflow/source'] as const;
export const APP_DIR = fileURLToPath(new URL('..', import.meta.url));

export interface SimChild {
  readonly pid: number;
  readonly progress: SimProgress;
  command<T = unknown>(cmd: Omit<SimCommand, 'id'>, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

/** Forks a simulator (`ddiSimulator.ts`, `mqttSimulator.ts`) and talks to it over IPC. */
export function startSimChild(script: string, extraNodeArgs: readonly string[] = []): SimChild {
  const child: ChildProcess = fork(fileURLToPath(new URL(script, import.meta.url)), [], {
    cwd: APP_DIR,
    execArgv: [...CHILD_NODE_ARGS, ...extraNodeArgs],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const progress: SimProgress = {
    type: 'progress',
    registered: 0,
    completed: 0,
    requests: 0,
    reports: 0,
    errors: 0,
  };
  child.on('message', (raw) => {
    const reply = SimReply.safeParse(raw);
    if (reply.success) {
      const w = waiting.get(reply.data.id);
      waiting.delete(reply.data.id);
      if (reply.data.ok) w?.resolve(reply.data.data);
      else w?.reject(new FleetBenchError('CHILD_FAILED', `${script}: ${reply.data.error}`));
      return;
    }
    const p = SimProgress.safeParse(raw);
    if (p.success) Object.assign(progress, p.data);
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      for (const w of waiting.values())
        w.reject(new FleetBenchError('CHILD_FAILED', `${script} exited with code ${code}`));
      waiting.clear();
      resolve();
    }),
  );
  return {
    pid: child.pid as number,
    progress,
    command<T>(cmd: Omit<SimCommand, 'id'>, timeoutMs = 120_000) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new FleetBenchError('TIMEOUT', `${script}: ${cmd.cmd} got no answer`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ ...cmd, id });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        await this.command({ cmd: 'stop' }, 8000);
      } catch {
        child.kill('SIGTERM');
      }
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The child's side: answers commands with `handle`, sends progress every second, and exits when
 * told to stop, when the parent goes away, or after `maxRunMs` (no simulator outlives its run).
 */
export function serveSimCommands(
  handle: (cmd: SimCommand) => Promise<unknown>,
  progress: () => Omit<SimProgress, 'type'>,
  onStop: () => Promise<void>,
): { setDeadline(ms: number): void } {
  const send = (msg: unknown) => {
    if (process.connected) process.send?.(msg);
  };
  const ticker = setInterval(() => send({ type: 'progress', ...progress() }), 1000);
  let deadline: NodeJS.Timeout | undefined;
  const finish = async (code: number) => {
    clearInterval(ticker);
    clearTimeout(deadline);
    await onStop().catch(() => {});
    process.exit(code);
  };
  process.on('disconnect', () => void finish(0));
  process.on('message', (raw) => {
    const cmd = raw as SimCommand;
    void (async () => {
      try {
        const data = cmd.cmd === 'stop' ? undefined : await handle(cmd);
        send({ type: 'reply', id: cmd.id, ok: true, data });
        if (cmd.cmd === 'stop') {
          send({ type: 'progress', ...progress() });
          await finish(0);
        }
      } catch (error) {
        send({
          type: 'reply',
          id: cmd.id,
          ok: false,
          error: (error as Error).stack ?? String(error),
        });
      }
    })();
  });
  return {
    setDeadline(ms) {
      deadline = setTimeout(() => void finish(3), ms);
      deadline.unref();
    },
  };
}
