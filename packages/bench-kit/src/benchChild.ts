import { type ChildProcess, fork } from 'node:child_process';
import { BenchKitError } from './BenchKitError.js';

type Waiter = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type Message = { id: number; value?: unknown; error?: string };

/** A server forked into a process of its own, so the load client never shares its CPU. */
export interface BenchChild<Ready, Op> {
  readonly child: ChildProcess;
  /** What the child announced once it was listening (its origins). */
  readonly ready: Promise<Ready>;
  /** One request to the child, answered by `serveBenchChild`'s `answer`. */
  ask<T>(op: Op): Promise<T>;
  /** Asks the child to `close` (an op every child knows), then waits for it to exit. */
  stop(closeOp: Op): Promise<void>;
}

/**
 * Forks a TypeScript module under tsx with the workspace's source condition. With
 * `BENCH_SERVER_PROF=<dir>` the child writes a CPU profile there on exit.
 */
export function forkBenchChild<Ready, Op>(
  module: URL,
  args: readonly string[] = [],
): BenchChild<Ready, Op> {
  const prof = process.env.BENCH_SERVER_PROF;
  const child = fork(module, [...args], {
    execArgv: [
      '--import',
      'tsx',
      '--conditions=@otaflow/source',
      ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const waiting = new Map<number, Waiter>();
  child.on('message', (msg: Message) => {
    const waiter = waiting.get(msg.id);
    if (!waiter) return;
    waiting.delete(msg.id);
    if (msg.error !== undefined) waiter.reject(new BenchKitError('CHILD_FAILED', msg.error));
    else waiter.resolve(msg.value);
  });
  child.on('exit', (code) => {
    for (const waiter of waiting.values())
      waiter.reject(new BenchKitError('CHILD_FAILED', `${module.pathname} exited (${code})`));
    waiting.clear();
  });
  const ready = new Promise<Ready>((resolve, reject) =>
    waiting.set(0, { resolve: resolve as (value: unknown) => void, reject }),
  );
  const ask = <T>(op: Op): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ id, op });
    });
  return {
    child,
    ready,
    ask,
    async stop(closeOp) {
      const exited =
        child.exitCode === null ? new Promise((r) => child.once('exit', r)) : Promise.resolve();
      await ask(closeOp).catch(() => {});
      // Left to exit by itself (a --cpu-prof profile is written on exit); killed only if it hangs.
      const timer = setTimeout(() => child.kill(), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The child's side: answers each request with `answer`, announces `ready`, and leaves once its
 * parent is gone (done or failed), since nothing is then left to serve.
 */
export function serveBenchChild<Op>(
  ready: unknown,
  answer: (op: Op) => Promise<unknown>,
  isClose: (op: Op) => boolean,
): void {
  process.on('message', (msg: { id: number; op: Op }) => {
    void answer(msg.op).then(
      (value) => {
        process.send?.({ id: msg.id, value });
        if (isClose(msg.op)) process.disconnect();
      },
      (error: unknown) => process.send?.({ id: msg.id, error: String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ id: 0, value: ready });
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * One warm-up of each side, then `rounds` measured rounds whose order alternates (AB, BA, ...), so
 * neither side always runs on the warmer or the quieter machine. `onRound` sees each measured pair.
 */
export async function interleaveRounds<S>(
  rounds: number,
  baseline: () => Promise<S>,
  tested: () => Promise<S>,
  onRound: (round: number, baseline: S, tested: S) => void = () => {},
): Promise<{ baseline: S[]; tested: S[] }> {
  await baseline();
  await tested();
  const out = { baseline: [] as S[], tested: [] as S[] };
  for (let r = 0; r < rounds; r++) {
    let b: S;
    let t: S;
    if (r % 2 === 0) {
      b = await baseline();
      t = await tested();
    } else {
      t = await tested();
      b = await baseline();
    }
    out.baseline.push(b);
    out.tested.push(t);
    onRound(r, b, t);
  }
  return out;
}
