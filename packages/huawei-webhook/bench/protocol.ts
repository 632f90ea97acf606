/** What the benchmark's two processes say to each other over the IPC channel. */
export const ACTIONS = 2_500;

export type BenchCommand =
  | { cmd: 'prepare' | 'check'; prefix: string }
  | { cmd: 'cpu' | 'gc' | 'stored' | 'stop' };
export type BenchRequest = BenchCommand & { id: number };

export interface BenchReply {
  id: number;
  ok: boolean;
  cpuMicros?: number;
  detail?: string;
  /** Targets and actions in the store, and the heap in use, garbage included (MiB), when asked. */
  stored?: { actions: number; targets: number; heapMiB: number };
  receiverUrl?: string;
  bareUrl?: string;
}
