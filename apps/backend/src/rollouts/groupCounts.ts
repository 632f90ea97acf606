import type { ActionStatus, FilterNode, GroupCounts, UpdateService } from '@otaflow/core';

/** hawkBit's `totalTargetsPerStatus` buckets. */
export interface TargetsPerStatus {
  scheduled: number;
  running: number;
  error: number;
  finished: number;
  cancelled: number;
  notstarted: number;
}

const cmp = (field: string, op: '==' | '=in=' | '<', values: string[]): FilterNode => ({
  kind: 'cmp',
  field,
  op,
  values,
});

/** How many actions of `scope` are in `statuses`: a count in the store, not a listing. */
async function countIn(service: UpdateService, scope: FilterNode, statuses: ActionStatus[]) {
  const filter: FilterNode = { kind: 'and', nodes: [scope, cmp('status', '=in=', statuses)] };
  return (await service.pageActions({ filter, limit: 0 })).total;
}

/** The actions of one group, or of every group of a rollout. */
export function actionsOf(by: 'rolloutId' | 'rolloutGroupId', id: number): FilterNode {
  return cmp(by, '==', [String(id)]);
}

/**
 * What the success and error conditions count, for a group's actions; `DOWNLOADED` ends a
 * download-only action. A few counts in the store per group and round.
 */
export async function groupCounts(
  service: UpdateService,
  groupId: number,
  downloadOnly: boolean,
  /** Successes count once reported installed; unreported ones finished before this are errors. */
  installedReport?: { reportedSince: number },
): Promise<GroupCounts> {
  const scope = actionsOf('rolloutGroupId', groupId);
  const [total, allFinished, downloaded, error, canceled] = await Promise.all([
    service.pageActions({ filter: scope, limit: 0 }).then((p) => p.total),
    countIn(service, scope, ['FINISHED']),
    countIn(service, scope, ['DOWNLOADED']),
    countIn(service, scope, ['ERROR']),
    countIn(service, scope, ['CANCELED']),
  ]);
  let finished = allFinished;
  let silent = 0;
  if (installedReport) {
    const unreported: FilterNode = {
      kind: 'and',
      nodes: [scope, cmp('status', '==', ['FINISHED']), cmp('installedReported', '==', ['false'])],
    };
    const late: FilterNode = {
      kind: 'and',
      nodes: [unreported, cmp('lastModifiedAt', '<', [String(installedReport.reportedSince)])],
    };
    const [waiting, overdue] = await Promise.all([
      service.pageActions({ filter: unreported, limit: 0 }).then((p) => p.total),
      service.pageActions({ filter: late, limit: 0 }).then((p) => p.total),
    ]);
    // A success the device has not confirmed is still open; past the time it is a failure.
    finished = allFinished - waiting;
    silent = overdue;
  }
  const ended = finished + error + silent + canceled + (downloadOnly ? downloaded : 0);
  return { total, finished, downloaded, error: error + silent, open: total - ended };
}

/** hawkBit's per-status target counts of a rollout or a group with `totalTargets` members. */
export async function targetsPerStatus(
  service: UpdateService,
  scope: FilterNode,
  totalTargets: number,
  downloadOnly: boolean,
): Promise<TargetsPerStatus> {
  const [all, scheduled, error, finished, downloaded, cancelled] = await Promise.all([
    service.pageActions({ filter: scope, limit: 0 }).then((p) => p.total),
    countIn(service, scope, ['SCHEDULED']),
    countIn(service, scope, ['ERROR']),
    countIn(service, scope, ['FINISHED']),
    countIn(service, scope, ['DOWNLOADED']),
    countIn(service, scope, ['CANCELED']),
  ]);
  const done = finished + (downloadOnly ? downloaded : 0);
  return {
    scheduled,
    running: all - scheduled - error - done - cancelled,
    error,
    finished: done,
    cancelled,
    notstarted: Math.max(0, totalTargets - all),
  };
}
