import {
  type OutboxChannelStats,
  OutboxRelay,
  type OutboxSink,
  type UpdateService,
  type UpdateStore,
} from '@otaflow/core';
import type { Logger } from '../logger.js';

/** The outbox channels the backend writes, one per consumer of domain events that leave it. */
export const OUTBOX_CHANNELS = {
  sie: 'sie',
  commands: 'commands',
  huawei: 'huawei',
} as const;

export type OutboxChannel = (typeof OUTBOX_CHANNELS)[keyof typeof OUTBOX_CHANNELS];

/** Tells of outbox entries committed by any backend on the database (`watchOutbox`). */
export type OutboxWakeups = (
  onAppend: (channel: string | undefined) => void,
) => Promise<() => Promise<void>>;

export interface StartRelaysOptions {
  store: UpdateStore;
  service: UpdateService;
  /** A sink per channel the service writes; a channel without one is not relayed here. */
  sinks: Partial<Record<OutboxChannel, OutboxSink>>;
  logger: Logger;
  /** Wake-ups from other backends; without them, a relay looks every `pollMs`. */
  wakeups?: OutboxWakeups | undefined;
  pollMs?: number;
  leaseMs?: number;
}

export interface Relays {
  readonly relays: readonly OutboxRelay[];
  /** Depth and oldest age per channel, for metrics. */
  backlog(): Promise<OutboxChannelStats[]>;
  /**
   * Stops claiming; resolves once every batch under way has ended. A sink waiting for a broker
   * ends when its adapter closes, so close the adapters before awaiting this in full.
   */
  stop(): Promise<void>;
}

/**
 * One relay per channel, from the store's outbox to its adapter: started at once, woken after a
 * commit of this process (every domain event heard) and, with `wakeups`, of any other backend.
 */
export async function startRelays(options: StartRelaysOptions): Promise<Relays> {
  const relays: OutboxRelay[] = [];
  for (const [channel, sink] of Object.entries(options.sinks)) {
    if (!sink) continue;
    const log = options.logger.child({ component: 'outbox', channel });
    relays.push(
      new OutboxRelay({
        store: options.store,
        channel,
        sink,
        pollMs: options.pollMs ?? 1000,
        leaseMs: options.leaseMs ?? 30_000,
        onError: (err) => log.warn({ err }, 'outbox batch not delivered; retrying'),
      }).start(),
    );
  }
  const nudgeAll = () => {
    for (const relay of relays) relay.nudge();
  };
  const byChannel = new Map(relays.map((r) => [r.channel, r]));
  const unsubscribe = options.service.onEvent(nudgeAll);
  let stopWakeups: (() => Promise<void>) | undefined;
  try {
    stopWakeups = await options.wakeups?.((channel) => {
      if (channel === undefined) nudgeAll();
      else byChannel.get(channel)?.nudge();
    });
  } catch (err) {
    options.logger.warn({ err }, 'no outbox wake-ups from other backends; polling only');
  }
  let stopping: Promise<void> | undefined;
  return {
    relays,
    backlog: async () => Promise.all(relays.map((r) => r.backlog())),
    stop() {
      stopping ??= (async () => {
        unsubscribe();
        await stopWakeups?.().catch(() => {});
        await Promise.all(relays.map((r) => r.stop()));
      })();
      return stopping;
    },
  };
}
