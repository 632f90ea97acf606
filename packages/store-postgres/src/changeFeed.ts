import type { Db } from './Db.js';

/** The channel migration 003's triggers notify on, with `<tenant>\n<controllerId>`. */
export const CHANGE_CHANNEL = 'otaflow_change';

/** What migration 010 sends in place of a controller id when the tenant's configuration changed. */
export const CONFIGURATION_CHANGED = '\u0001configuration';

/** What the feed tells: core's `CachingUpdateStore` is one. */
export interface ChangeListener {
  invalidate(controllerId: string): void;
  invalidateAll(): void;
  /** The tenant's configuration changed (migration 010); after a reconnect, it may have. */
  configurationChanged?(): void;
}

export interface ChangeFeed {
  /** Notifications received for this tenant, and (re)subscriptions, since the start. */
  stats(): { notifications: number; subscriptions: number };
  close(): Promise<void>;
}

/**
 * Tells `listener` of every committed change to a target of `tenant` or to its actions, by any
 * process on the database (this one included: the notification follows the commit, and
 * forgetting twice is harmless). After the subscription is re-established (a reconnect), every
 * notification sent meanwhile is lost, so the listener forgets everything.
 */
export async function watchChanges(
  db: Db,
  tenant: string,
  listener: ChangeListener,
): Promise<ChangeFeed> {
  let notifications = 0;
  let subscriptions = 0;
  const prefix = `${tenant}\n`;
  const stop = await db.listen(
    CHANGE_CHANNEL,
    (payload) => {
      if (!payload.startsWith(prefix)) return;
      notifications++;
      const id = payload.slice(prefix.length);
      if (id === CONFIGURATION_CHANGED) listener.configurationChanged?.();
      else listener.invalidate(id);
    },
    () => {
      // The first subscription finds nothing cached that predates it; any later one is a
      // reconnect after which anything may have changed.
      if (subscriptions++ > 0) {
        listener.invalidateAll();
        listener.configurationChanged?.();
      }
    },
  );
  return {
    stats: () => ({ notifications, subscriptions }),
    close: stop,
  };
}
