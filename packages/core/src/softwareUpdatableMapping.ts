import {
  type EventTemplate,
  fromTemplate,
  type MappingResult,
  type ReportFields,
} from './mappingResult.js';

/** The 18 statuses of SoftwareUpdatable 2.0.0's OperationStatus. */
export const SUV2_STATUSES = [
  'STARTED',
  'DOWNLOADING',
  'DOWNLOADING_WAITING',
  'DOWNLOADED',
  'INSTALLING',
  'INSTALLING_WAITING',
  'INSTALLED',
  'REMOVING',
  'REMOVING_WAITING',
  'REMOVED',
  'CANCELING',
  'CANCELING_WAITING',
  'CANCEL_REJECTED',
  'FINISHED_CANCELED',
  'FINISHED_ERROR',
  'FINISHED_SUCCESS',
  'FINISHED_WARNING',
  'FINISHED_REJECTED',
] as const;
export type Suv2Status = (typeof SUV2_STATUSES)[number];

export interface Suv2MappingOptions {
  /**
   * Bosch does not publish what FINISHED_WARNING does to an action. Default: FINISHED with a
   * WARNING entry before it; `failure` ends it in ERROR instead.
   */
  finishedWarningAs?: 'success' | 'failure';
}

const ignore = (reason: string) => ({ ignore: reason }) as const;
type Row = EventTemplate | { ignore: string };

/** `lastOperation.status` -> core event (ARCHITECTURE.md). Remove operations carry no install. */
export const SUV2_STATUS_MAP: Readonly<Record<Suv2Status, Row>> = {
  STARTED: { type: 'action.proceeding' },
  DOWNLOADING: { type: 'action.download' },
  DOWNLOADING_WAITING: { type: 'action.proceeding' },
  DOWNLOADED: { type: 'action.downloaded' },
  INSTALLING: { type: 'action.proceeding' },
  INSTALLING_WAITING: { type: 'action.proceeding' },
  INSTALLED: { type: 'action.proceeding' },
  REMOVING: ignore('remove operations do not move an install action'),
  REMOVING_WAITING: ignore('remove operations do not move an install action'),
  REMOVED: ignore('remove operations do not move an install action'),
  CANCELING: { type: 'cancel.progress', reported: 'CANCELING' },
  CANCELING_WAITING: { type: 'cancel.progress', reported: 'CANCELING' },
  CANCEL_REJECTED: { type: 'cancel.rejected' },
  FINISHED_CANCELED: { type: 'action.canceled' },
  FINISHED_ERROR: { type: 'action.finished', result: 'failure' },
  FINISHED_SUCCESS: { type: 'action.finished', result: 'success' },
  FINISHED_WARNING: { type: 'action.finished', result: 'success', warning: true },
  FINISHED_REJECTED: { type: 'action.finished', result: 'failure' },
};

export function isSuv2Status(value: unknown): value is Suv2Status {
  return typeof value === 'string' && (SUV2_STATUSES as readonly string[]).includes(value);
}

/** Maps a `lastOperation.status`; an unknown status is reported as ignored, never thrown. */
export function mapSoftwareUpdatableStatus(
  status: string,
  report: ReportFields,
  options: Suv2MappingOptions = {},
): MappingResult {
  if (!isSuv2Status(status))
    return { kind: 'ignored', reason: `unknown SoftwareUpdatable status ${status}` };
  let row = SUV2_STATUS_MAP[status];
  if (status === 'FINISHED_WARNING' && options.finishedWarningAs === 'failure') {
    row = { type: 'action.finished', result: 'failure', warning: true };
  }
  if ('ignore' in row) return { kind: 'ignored', reason: row.ignore };
  return fromTemplate(row, report);
}
