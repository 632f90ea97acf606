import {
  type EventTemplate,
  fromTemplate,
  type MappingResult,
  type ReportFields,
} from './mappingResult.js';

export const HUAWEI_UPGRADE_STATES = ['downloading', 'downloaded', 'updating', 'idle'] as const;
export type HuaweiUpgradeState = (typeof HUAWEI_UPGRADE_STATES)[number];
export const HUAWEI_UPGRADE_RESULTS = ['SUCCESS', 'FAIL'] as const;
export type HuaweiUpgradeResult = (typeof HUAWEI_UPGRADE_RESULTS)[number];

type Row = EventTemplate | { ignore: string };

/** `swUpgradeState` / `fwUpgradeState` -> core event; both families map the same way. */
export const HUAWEI_STATE_MAP: Readonly<Record<HuaweiUpgradeState, Row>> = {
  downloading: { type: 'action.download' },
  downloaded: { type: 'action.downloaded' },
  updating: { type: 'action.proceeding' },
  idle: { ignore: 'idle changes no status by itself' },
};

/** `swUpgradeResult` / `fwUpgradeResult` -> core event. */
export const HUAWEI_RESULT_MAP: Readonly<Record<HuaweiUpgradeResult, EventTemplate>> = {
  SUCCESS: { type: 'action.finished', result: 'success' },
  FAIL: { type: 'action.finished', result: 'failure' },
};

export function mapHuaweiUpgradeState(state: string, report: ReportFields): MappingResult {
  const row = HUAWEI_STATE_MAP[state as HuaweiUpgradeState];
  if (!row) return { kind: 'ignored', reason: `unknown upgrade state ${state}` };
  if ('ignore' in row) return { kind: 'ignored', reason: row.ignore };
  return fromTemplate(row, report);
}

export function mapHuaweiUpgradeResult(result: string, report: ReportFields): MappingResult {
  const row = HUAWEI_RESULT_MAP[result as HuaweiUpgradeResult];
  if (!row) return { kind: 'ignored', reason: `unknown upgrade result ${result}` };
  return fromTemplate(row, report);
}
