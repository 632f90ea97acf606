import type { ActionView } from './actions.js';
import type { PersistedSnapshot } from './persistence.js';
import type { ActionRecord, TargetRecord } from './records.js';
import type { TargetContext } from './targetMachine.js';
import { targetStatusOfState } from './targetMachine.js';
import type { ActionStatus, StatusEntry, TargetUpdateStatus } from './vocabulary.js';

const FINAL_STATES: ReadonlySet<string> = new Set(['finished', 'error', 'canceled', 'downloadOnlyDone']);

function stateKey(value: PersistedSnapshot['value']): string {
  if (typeof value === 'string') return value;
  const [parent, child] = Object.entries(value)[0] ?? ['', ''];
  return typeof child === 'string' ? `${parent}.${child}` : parent;
}

/** The view of a stored action, read straight from its persisted context (no machine needed). */
export function actionViewOfRecord(record: ActionRecord): ActionView & { refs: Record<string, string> } {
  const { history: _h, maxHistory: _m, ...context } = record.state.context as Record<string, unknown>;
  const state = stateKey(record.state.value);
  const root = state.split('.')[0] ?? state;
  return {
    ...(context as Omit<ActionView, 'active' | 'state'>),
    active: !FINAL_STATES.has(root) && root !== 'scheduled',
    state,
    refs: record.refs ?? {},
  };
}

export function actionHistoryOfRecord(record: ActionRecord): StatusEntry[] {
  return (record.state.context.history as StatusEntry[] | undefined) ?? [];
}

export function actionStatusOfRecord(record: ActionRecord): ActionStatus {
  return record.state.context.status as ActionStatus;
}

export interface TargetView {
  controllerId: string;
  name: string;
  description?: string | undefined;
  securityToken: string;
  address?: string | undefined;
  channel?: string | undefined;
  attributes: Record<string, string>;
  requestAttributes: boolean;
  autoConfirm?: TargetRecord['autoConfirm'];
  updateStatus: TargetUpdateStatus;
  createdAt: number;
  lastModifiedAt: number;
  lastContactAt?: number | undefined;
  assignedDistributionSetId?: number | undefined;
  installedDistributionSetId?: number | undefined;
  installedAt?: number | undefined;
}

export function targetViewOfRecord(record: TargetRecord): TargetView {
  const ctx = record.state.context as unknown as TargetContext;
  const view: TargetView = {
    controllerId: record.controllerId,
    name: record.name,
    securityToken: record.securityToken,
    attributes: record.attributes,
    requestAttributes: record.requestAttributes,
    updateStatus: targetStatusOfState(record.state.value),
    createdAt: ctx.createdAt,
    lastModifiedAt: ctx.lastModifiedAt,
  };
  if (record.description !== undefined) view.description = record.description;
  if (record.address !== undefined) view.address = record.address;
  if (record.channel !== undefined) view.channel = record.channel;
  if (record.autoConfirm !== undefined) view.autoConfirm = record.autoConfirm;
  if (ctx.lastContactAt !== undefined) view.lastContactAt = ctx.lastContactAt;
  if (ctx.assignedDistributionSetId !== undefined) view.assignedDistributionSetId = ctx.assignedDistributionSetId;
  if (ctx.installedDistributionSetId !== undefined) view.installedDistributionSetId = ctx.installedDistributionSetId;
  if (ctx.installedAt !== undefined) view.installedAt = ctx.installedAt;
  return view;
}
