import { isActiveStateValue } from './actionStates.js';
import type { ActionView } from './actions.js';
import type { PersistedSnapshot } from './persistence.js';
import type { ActionRecord, TargetRecord } from './records.js';
import type { TargetContext } from './targetMachine.js';
import { targetStatusOfState } from './targetMachine.js';
import type { ActionStatus, StatusEntry, TargetUpdateStatus } from './vocabulary.js';

/** An action as the service returns it from the store: the view plus its protocol references. */
export interface StoredActionView extends ActionView {
  /** Protocol references set with `setActionRef`, e.g. `{ 'suv2.correlationId': '...' }`. */
  refs: Record<string, string>;
}

/** `parent.child` keys, built once per pair: a view is built on every report. */
const nestedKeys = new Map<string, Map<string, string>>();

function stateKeyOf(value: PersistedSnapshot['value']): string {
  if (typeof value === 'string') return value;
  for (const parent in value) {
    const child = value[parent];
    if (typeof child !== 'string') return parent;
    let byChild = nestedKeys.get(parent);
    if (!byChild) {
      byChild = new Map();
      nestedKeys.set(parent, byChild);
    }
    let key = byChild.get(child);
    if (key === undefined) {
      key = `${parent}.${child}`;
      // Bounded by the machines' states in practice; a store holding odd values must not grow it.
      if (byChild.size < 64) byChild.set(child, key);
    }
    return key;
  }
  return '';
}

/**
 * The key orders of the last two views built, each with a template: a view of a known order is a
 * spread of its template (one allocation of the final size) filled in place, while adding the
 * keys one by one to `{}` outgrew its storage several times (about 600 bytes per view instead of
 * about 250). Contexts keep their key order from report to report (two orders are common: with
 * and without `lastStatusCode`), so a known order nearly always matches.
 */
interface ViewShape {
  keys: string[];
  template: Record<string, unknown>;
}
let recentShape: ViewShape = { keys: [], template: {} };
let olderShape: ViewShape = recentShape;

function fromShape(
  context: Record<string, unknown>,
  shape: ViewShape,
): Record<string, unknown> | undefined {
  const view: Record<string, unknown> = { ...shape.template };
  const keys = shape.keys;
  let i = 0;
  for (const key in context) {
    if (key === 'history' || key === 'maxHistory' || key === 'historyDropped') continue;
    if (keys[i++] !== key) return undefined;
    view[key] = context[key];
  }
  return i === keys.length ? view : undefined;
}

function copyContext(context: Record<string, unknown>): Record<string, unknown> {
  const recent = fromShape(context, recentShape);
  if (recent) return recent;
  const older = fromShape(context, olderShape);
  if (older) {
    [recentShape, olderShape] = [olderShape, recentShape];
    return older;
  }
  // Another order: built key by key, and remembered as a template for the next views.
  const built: Record<string, unknown> = {};
  const keys: string[] = [];
  for (const key in context) {
    if (key !== 'history' && key !== 'maxHistory' && key !== 'historyDropped') {
      built[key] = context[key];
      keys.push(key);
    }
  }
  const template: Record<string, unknown> = {};
  for (const key of keys) template[key] = undefined;
  template.active = undefined;
  template.state = undefined;
  template.refs = undefined;
  olderShape = recentShape;
  recentShape = { keys, template };
  return built;
}

/** The view of a stored action, read straight from its persisted context (no machine needed). */
export function actionViewOfRecord(record: ActionRecord): StoredActionView {
  const view = copyContext(record.state.context);
  const value = record.state.value;
  view.active = isActiveStateValue(value);
  view.state = stateKeyOf(value);
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
  group?: string | undefined;
  attributes: Record<string, string>;
  requestAttributes: boolean;
  autoConfirm?: TargetRecord['autoConfirm'];
  targetType?: number | undefined;
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
  if (record.group !== undefined) view.group = record.group;
  if (record.autoConfirm !== undefined) view.autoConfirm = record.autoConfirm;
  if (record.targetType !== undefined) view.targetType = record.targetType;
  if (ctx.lastContactAt !== undefined) view.lastContactAt = ctx.lastContactAt;
  if (ctx.assignedDistributionSetId !== undefined)
    view.assignedDistributionSetId = ctx.assignedDistributionSetId;
  if (ctx.installedDistributionSetId !== undefined)
    view.installedDistributionSetId = ctx.installedDistributionSetId;
  if (ctx.installedAt !== undefined) view.installedAt = ctx.installedAt;
  return view;
}
