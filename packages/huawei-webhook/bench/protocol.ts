/** What the benchmark's two processes say to each other over the IPC channel. */
export const ACTIONS = 1_500;

export type BenchCommand =
  | { cmd: 'prepare' | 'check'; prefix: string }
  | { cmd: 'gc' | 'cpu' | 'stop' };
export type BenchRequest = BenchCommand & { id: number };

export interface BenchReply {
  id: number;
  ok: boolean;
  cpuMicros?: number;
  detail?: string;
  receiverUrl?: string;
  bareUrl?: string;
}
