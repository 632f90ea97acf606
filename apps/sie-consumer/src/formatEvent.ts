import type { SieBodies, SieTopic } from '@otaflow/sie-amqp';

export type OutputFormat = 'pretty' | 'json';

export interface ReceivedEvent<T extends SieTopic = SieTopic> {
  topic: T;
  tenant: string;
  body: SieBodies[T];
}

const time = (ms: number | undefined) =>
  ms ? new Date(ms).toISOString().slice(11, 23) : '--:--:--.---';

/** One line per event: for people (`pretty`) or for `jq` and log shippers (`json`). */
export function formatEvent(event: ReceivedEvent, format: OutputFormat): string {
  if (format === 'json') return JSON.stringify(event);
  const { topic, tenant } = event;
  const b = event.body as Record<string, unknown>;
  const ts = time(typeof b.timestamp === 'number' ? b.timestamp : undefined);
  switch (topic) {
    case 'TARGET_CREATED':
    case 'TARGET_UPDATED':
    case 'TARGET_DELETED':
      return `${ts} ${topic.padEnd(17)} ${tenant} target=${String(b.controllerId)} ${String(b.updateStatus)}`;
    case 'ACTION_CREATED':
    case 'ACTION_UPDATED':
      return `${ts} ${topic.padEnd(17)} ${tenant} action=${String(b.actionId)} target=${String(b.controllerId)} ${String(b.actionStatus)}${b.actionActive ? '' : ' (closed)'} code=${String(b.lastActionStatusCode)} ${String(b.distributionSetName)}:${String(b.distributionSetVersion)}`;
    case 'UPDATE_ASSIGNMENT': {
      const targets = (b.targets as Array<{ controllerId: string; actionId: number }>) ?? [];
      const modules =
        (b.softwareModules as Array<{ moduleName: string; moduleVersion: string }>) ?? [];
      const shown = targets.slice(0, 5).map((t) => `${t.controllerId}#${t.actionId}`);
      const more = targets.length > shown.length ? ` +${targets.length - shown.length} more` : '';
      return `${ts} ${topic.padEnd(17)} ${tenant} ${targets.length} target(s): ${shown.join(' ')}${more} modules: ${modules.map((m) => `${m.moduleName}:${m.moduleVersion}`).join(' ')}`;
    }
    default:
      return `${ts} ${String(topic)} ${tenant} ${JSON.stringify(b)}`;
  }
}
