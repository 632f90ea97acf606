import type { UpdateStore } from '@otaflow/core';
import type { BackendConfig } from '../config.js';
import { OUTBOX_CHANNELS, type OutboxChannel } from './startRelays.js';

/**
 * The outbox channels the service writes for this configuration, or undefined when the outbox is
 * off (asked so, or a store that keeps none): device commands always, SIE when a broker is
 * configured (reachable or not: its events wait for it), Huawei tasks with a platform. A channel
 * is written whether or not its consumer is up, so that nothing promised is lost meanwhile.
 */
export function outboxChannelsOf(
  config: Pick<BackendConfig, 'amqpUrl' | 'huaweiPlatformUrl'>,
  store: UpdateStore,
  enabled = true,
): OutboxChannel[] | undefined {
  if (!enabled || !store.appendOutbox || !store.claimOutbox) return undefined;
  const channels: OutboxChannel[] = [OUTBOX_CHANNELS.commands];
  if (config.amqpUrl) channels.push(OUTBOX_CHANNELS.sie);
  if (config.huaweiPlatformUrl) channels.push(OUTBOX_CHANNELS.huawei);
  return channels;
}
