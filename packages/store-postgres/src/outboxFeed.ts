import type { Db } from './Db.js';

/** The channel `appendOutbox` notifies on, with `<tenant>\n<outbox channel>`, at commit. */
export const OUTBOX_CHANNEL = 'otaflow_outbox';

export interface OutboxFeed {
  close(): Promise<void>;
}

/**
 * Calls `onAppend(channel)` when any backend on the database commits outbox entries of `tenant`:
 * a relay's cue to look now rather than at its next poll (`OutboxRelay.nudge`). After the
 * subscription is re-established (a reconnect), notifications sent meanwhile are lost, so every
 * channel is named once with `undefined`. Polling stays the source of truth; this only shortens
 * the wait.
 */
export async function watchOutbox(
  db: Db,
  tenant: string,
  onAppend: (channel: string | undefined) => void,
): Promise<OutboxFeed> {
  const prefix = `${tenant}\n`;
  let subscriptions = 0;
  const stop = await db.listen(
    OUTBOX_CHANNEL,
    (payload) => {
      if (payload.startsWith(prefix)) onAppend(payload.slice(prefix.length));
    },
    () => {
      if (subscriptions++ > 0) onAppend(undefined);
    },
  );
  return { close: stop };
}
