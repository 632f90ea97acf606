import { api } from './api';
import type { Paged, Target } from './types';

export const STATUSES = ['unknown', 'registered', 'pending', 'in_sync', 'error'] as const;
export const CHANNELS = ['ddi', 'mqtt', 'huawei'] as const;

export interface FleetCounts {
  at: number;
  total: number;
  status: Record<(typeof STATUSES)[number], number>;
  channel: Record<(typeof CHANNELS)[number], number>;
}

const totalOf = async (query?: string) => {
  const q = query ? `&q=${encodeURIComponent(query)}` : '';
  return (await api<Paged<Target>>('GET', `/targets?limit=1${q}`)).total;
};

/** The fleet's counts, each one list query of one target that reads hawkBit's `total`. */
export async function loadFleetCounts(): Promise<FleetCounts> {
  const [total, statuses, channels] = await Promise.all([
    totalOf(),
    Promise.all(STATUSES.map((s) => totalOf(`updateStatus==${s}`))),
    Promise.all(CHANNELS.map((c) => totalOf(`channel==${c}`))),
  ]);
  return {
    at: Date.now(),
    total,
    status: Object.fromEntries(
      STATUSES.map((s, i) => [s, statuses[i] ?? 0]),
    ) as FleetCounts['status'],
    channel: Object.fromEntries(
      CHANNELS.map((c, i) => [c, channels[i] ?? 0]),
    ) as FleetCounts['channel'],
  };
}

const MAX_SAMPLES = 300;
/** The counts seen since the page was opened, for the chart; kept across page changes. */
export const history: FleetCounts[] = [];

export function remember(counts: FleetCounts): void {
  const last = history.at(-1);
  if (last && JSON.stringify(last.status) === JSON.stringify(counts.status)) return;
  history.push(counts);
  if (history.length > MAX_SAMPLES) history.splice(0, history.length - MAX_SAMPLES);
}
