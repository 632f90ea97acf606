import type { ActionView } from './actions.js';
import type { PersistedSnapshot } from './persistence.js';
import type { ActionRecord, TargetRecord } from './records.js';
import type { TargetContext } from './targetMachine.js';
import { targetStatusOfState } from './targetMachine.js';
import type { ActionStatus, StatusEntry, TargetUpdateStatus } from './vocabulary.js';

const FINAL_STATES: ReadonlySet<string> = new Set([
  'finished',
  'error',
  'canceled',
  'downloadOnlyDone',
]);

/** An action as the service returns it from the store: the view plus its protocol references. */
export interface StoredActionView extends ActionView {
  /** Protocol references set with `setActionRef`, e.g. `{ 'suv2.correlationId': '...' }`. */
  refs: Record<string, string>;
}

/** hawkBit: active until closed; a scheduled action is not active yet. Read from a persisted value. */
export function isActiveStateValue(value: PersistedSnapshot['value']): boolean {
  const root = stateKey(value).root;
  return !FINAL_STATES.has(root) && root !== 'scheduled';
}

function stateKey(value: PersistedSnapshot['value']): { state: string; root: string } {
  if (typeof value === 'string') return { state: value, root: value };
  for (const parent in value) {
    const child = value[parent];
    return { state: typeof child === 'string' ? `${parent}.${child}` : parent, root: parent };
  }
  return { state: '', root: '' };
}

/** The view of a stored action, read straight from its persisted context (no machine needed). */
export function actionViewOfRecord(record: ActionRecord): StoredActionView {
  // One plain copy instead of rest + spread: views are built for every action of a target on
  // every report, and the generic object rest was a tenth of the service's time.
  const context = record.state.context;
  const view: Record<string, unknown> = {};
  for (const key in context) {
    if (key !== 'history' && key !== 'maxHistory') view[key] = context[key];
  }
  const { state, root } = stateKey(record.state.value);
  view.active = !FINAL_STATES.has(root) && root !== 'scheduled';
  view.state = state;
  view.refs = record.refs ?? {};
  return view as unknown as StoredActionView;
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
  if (ctx.assignedDistributionSetId !== undefined)
    view.assignedDistributionSetId = ctx.assignedDistributionSetId;
  if (ctx.installedDistributionSetId !== undefined)
    view.installedDistributionSetId = ctx.installedDistributionSetId;
  if (ctx.installedAt !== undefined) view.installedAt = ctx.installedAt;
  return view;
}
