import type { Channel, Role } from './plan.js';

export interface DeviceResult {
  controllerId: string;
  channel: Channel;
  role: Role;
  actionId: number | null;
  action: string | null;
  target: string | null;
  expectedAction: string;
  expectedTarget: string;
  ok: boolean;
}

export interface DemoSummary {
  ok: boolean;
  durationMs: number;
  timedOut: boolean;
  backend: { url: string; mqttUrl: string; embeddedBroker: boolean; tenant: string };
  fleet: Record<Channel, number>;
  /** The rollout the update ran as, and how each of its groups ended. */
  rollout: {
    id: number;
    name: string;
    status: string;
    /** Whether the demo resumed it after a group tripped its error threshold. */
    resumed: boolean;
    groups: { name: string; status: string; total: number; finished: number; error: number }[];
  };
  targets: Record<string, number>;
  actions: Record<string, number>;
  devices: DeviceResult[];
  sie: {
    enabled: boolean;
    exchange?: string;
    queue?: string;
    /** Why SIE is off, when it is. */
    off?: string;
    events: Record<string, number>;
  };
  inspector?: string;
}

const count = (values: readonly (string | null)[]) => {
  const out: Record<string, number> = {};
  for (const v of values) out[v ?? 'NONE'] = (out[v ?? 'NONE'] ?? 0) + 1;
  return out;
};

export function summarise(
  devices: DeviceResult[],
  rest: Omit<DemoSummary, 'ok' | 'targets' | 'actions' | 'devices'>,
): DemoSummary {
  return {
    ok: !rest.timedOut && devices.every((d) => d.ok),
    targets: count(devices.map((d) => d.target)),
    actions: count(devices.map((d) => d.action)),
    devices,
    ...rest,
  };
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `  ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The human summary: targets and actions per status and channel, the time taken, SIE events. */
export function formatSummary(s: DemoSummary): string {
  const channels = (['ddi', 'mqtt', 'huawei'] as const).filter((c) => s.fleet[c] > 0);
  const perChannel = (key: 'target' | 'action', value: string) =>
    channels.map((c) =>
      String(s.devices.filter((d) => d.channel === c && (d[key] ?? 'NONE') === value).length || ''),
    );
  const rowsOf = (key: 'target' | 'action', counts: Record<string, number>) =>
    Object.entries(counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, n]) => [status, ...perChannel(key, status), String(n)]);
  const out = [
    '',
    `Rollout ${s.rollout.name} (${s.rollout.id}): ${s.rollout.status}${s.rollout.resumed ? ', resumed once after its error threshold tripped' : ''}`,
    table(
      ['group', 'status', 'targets', 'finished', 'error'],
      s.rollout.groups.map((g) => [
        g.name,
        g.status,
        String(g.total),
        String(g.finished),
        String(g.error),
      ]),
    ),
    '',
    `Targets per update status`,
    table(['status', ...channels, 'total'], rowsOf('target', s.targets)),
    '',
    `Actions per status`,
    table(['status', ...channels, 'total'], rowsOf('action', s.actions)),
    '',
    'The paths shown',
    table(
      ['target', 'channel', 'role', 'action', 'status', 'expected', ''],
      s.devices
        .filter((d) => d.role !== 'succeed' || !d.ok)
        .map((d) => [
          d.controllerId,
          d.channel,
          d.role,
          d.actionId === null ? '-' : String(d.actionId),
          `${d.action ?? '-'} / ${d.target ?? '-'}`,
          `${d.expectedAction} / ${d.expectedTarget}`,
          d.ok ? 'ok' : 'UNEXPECTED',
        ]),
    ),
    '',
  ];
  if (s.sie.enabled) {
    const events = Object.entries(s.sie.events).sort(([a], [b]) => a.localeCompare(b));
    out.push(
      `SIE events seen on ${s.sie.queue}`,
      table(
        ['topic', 'count'],
        events.map(([t, n]) => [t, String(n)]),
      ),
      '',
    );
  } else out.push(`SIE: off (${s.sie.off ?? 'no reachable AMQP broker'})`, '');
  out.push(
    `${s.devices.length} targets, ${(s.durationMs / 1000).toFixed(1)} s` +
      (s.timedOut ? ', TIMED OUT' : '') +
      (s.ok
        ? ': every action reached its expected final state.'
        : ': NOT every action ended as expected.'),
    '',
  );
  return out.join('\n');
}
