import { DELETABLE_STATUSES, type FilterNode, type TargetView } from '@otaflow/core';
import { z } from 'zod';
import { storeFilter } from '../query.js';
import { actionListNames } from './fields.js';
import type { EndpointRequest, ManagementContext, Reply, Route } from './ManagementContext.js';
import { emptyProblem, hawkbitProblem, notFound } from './Problem.js';
import { actionJson, targetHref } from './representations.js';
import { check, hasBody, intParam, requireActionOf, requireTarget } from './requests.js';

/** A list of action ids, as hawkBit's bulk deletes take them. */
const ActionIds = z.array(z.number().int());

/** `PUT /targets/{id}/actions/{actionId}`: hawkBit only switches to forced. */
const ActionUpdate = z.object({
  forceType: z.preprocess(
    (v) => (typeof v === 'string' ? v.toLowerCase() : v),
    z.enum(['forced', 'soft', 'timeforced', 'downloadonly']),
  ),
});

/** hawkBit's `MgmtActionConfirmationRequestBodyPut`. */
const ConfirmationBody = z.object({
  confirmation: z.preprocess(
    (v) => (typeof v === 'string' ? v.toLowerCase() : v),
    z.enum(['confirmed', 'denied']),
  ),
  code: z.number().int().optional(),
  details: z.array(z.string().max(512)).max(50).optional(),
});

/** hawkBit's `MgmtTargetAutoConfirmUpdate`. */
const AutoConfirmBody = z.object({
  initiator: z.string().max(64).optional(),
  remark: z.string().max(512).optional(),
});

/** A body DELETE may or may not carry (hawkBit: `@RequestBody(required = false)`). */
async function optionalBody(request: EndpointRequest): Promise<unknown> {
  return hasBody(request) ? request.json() : undefined;
}

/** The ids of every action a filter matches, read in pages from the store. */
async function idsMatching(api: ManagementContext, filter: FilterNode): Promise<number[]> {
  const ids: number[] = [];
  for (let offset = 0; ; offset += 5000) {
    const page = await api.service.pageActions({ filter, offset, limit: 5000 });
    for (const a of page.items) ids.push(a.id);
    if (page.items.length < 5000) return ids;
  }
}

/**
 * `DELETE /actions` (hawkBit 0.10+): the actions of a list of ids or of an RSQL filter (`q`),
 * never both; all or none, and only actions that ended (405 otherwise).
 */
export async function deleteActions(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const q = request.query.get('q');
  const body = await optionalBody(request);
  if ((q ? 1 : 0) + (body === undefined ? 0 : 1) !== 1)
    throw hawkbitProblem(
      400,
      'constraint',
      'Either a list of action ids OR an rsql filter is required.',
    );
  const ids = q ? await idsMatching(api, storeFilter(q, actionListNames)) : check(ActionIds, body);
  await api.service.deleteActions(ids);
  return { status: 204 };
}

/** `DELETE /actions/{actionId}` (hawkBit 0.10+). */
export async function deleteAction(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const id = intParam(request.params.actionId, 'Action');
  if (!(await api.service.getAction(id))) throw notFound('Action', id);
  await api.service.deleteActions([id]);
  return { status: 204 };
}

/**
 * `DELETE /targets/{id}/actions`: `keepLast=N` deletes the oldest ended actions beyond the newest
 * N, or a body lists the ids; exactly one of the two, as hawkBit asks.
 */
export async function deleteTargetActions(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const target = await requireTarget(api, request.params.id);
  const rawKeep = request.query.get('keepLast');
  const keepLast = rawKeep === null ? -1 : Number(rawKeep);
  if (!Number.isInteger(keepLast))
    throw hawkbitProblem(400, 'constraint', 'keepLast must be an integer.');
  const body = await optionalBody(request);
  if (keepLast < 0 && body === undefined)
    throw hawkbitProblem(
      400,
      'constraint',
      'Either keepLast OR action ID list should be provided!',
    );
  if (keepLast >= 0 && body !== undefined)
    throw hawkbitProblem(400, 'constraint', 'Only one of the parameters should be provided!');
  if (body !== undefined) {
    const ids = check(ActionIds, body);
    for (const id of ids) {
      const action = await api.service.getAction(id);
      if (!action || action.controllerId !== target.controllerId) throw notFound('Action', id);
    }
    await api.service.deleteActions(ids);
    return { status: 204 };
  }
  const all = await api.service.listActions(target.controllerId);
  const excess = all.length - keepLast;
  if (excess > 0) {
    const oldest = all
      .filter((a) => DELETABLE_STATUSES.includes(a.status))
      .sort((a, b) => a.id - b.id)
      .slice(0, excess)
      .map((a) => a.id);
    await api.service.deleteActions(oldest);
  }
  return { status: 204 };
}

/** `PUT /targets/{id}/actions/{actionId}`: `{"forceType":"forced"}`, nothing else. */
export async function updateTargetAction(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const action = await requireActionOf(api, request.params.id, request.params.actionId);
  const body = check(ActionUpdate, await request.json());
  if (body.forceType !== 'forced')
    throw hawkbitProblem(400, 'constraint', 'Resource supports only switch to FORCED.');
  const updated = await api.service.forceAction(action.id);
  return { status: 200, body: await actionJson(api, request.base, updated, true) };
}

/**
 * `PUT /targets/{id}/actions/{actionId}/confirmation`: a user confirms or denies for the device,
 * the same step a device's DDI confirmation feedback takes. 410 for an action that ended, 404 for
 * one not waiting for confirmation, as hawkBit.
 */
export async function confirmTargetAction(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const action = await requireActionOf(api, request.params.id, request.params.actionId);
  const body = check(ConfirmationBody, await request.json());
  if (!action.active) throw emptyProblem(410);
  if (action.status !== 'WAIT_FOR_CONFIRMATION') throw emptyProblem(404);
  const messages = [
    `${body.confirmation === 'confirmed' ? 'Confirmed' : 'Denied'} by ${api.user} through the Management API`,
    ...(body.details ?? []),
  ];
  const result = await api.service.apply(action.id, {
    type: body.confirmation === 'confirmed' ? 'action.confirmed' : 'action.denied',
    at: Date.now(),
    messages,
    ...(body.code !== undefined ? { code: body.code } : {}),
  });
  if (!result.ok) throw emptyProblem(result.code === 'ACTION_CLOSED' ? 410 : 404);
  return { status: 204 };
}

function autoConfirmJson(base: string, target: TargetView) {
  const href = `${targetHref(base, target.controllerId)}/autoConfirm`;
  const auto = target.autoConfirm;
  if (!auto?.active) return { active: false, _links: { activate: { href: `${href}/activate` } } };
  return {
    active: true,
    ...(auto.initiator !== undefined ? { initiator: auto.initiator } : {}),
    ...(auto.remark !== undefined ? { remark: auto.remark } : {}),
    activatedAt: auto.activatedAt,
    _links: { deactivate: { href: `${href}/deactivate` } },
  };
}

/** `GET /targets/{id}/autoConfirm`. */
export async function getAutoConfirm(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const target = await requireTarget(api, request.params.id);
  return { status: 200, body: autoConfirmJson(request.base, target) };
}

/** `POST /targets/{id}/autoConfirm/activate`: 409 when active already; confirms what waits. */
export async function activateAutoConfirm(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const target = await requireTarget(api, request.params.id);
  const body = check(AutoConfirmBody, (await optionalBody(request)) ?? {});
  if (target.autoConfirm?.active)
    throw hawkbitProblem(
      409,
      'autoConfirmActive',
      `Auto confirmation is already active for device ${target.controllerId}`,
    );
  await api.service.setAutoConfirm(target.controllerId, {
    active: true,
    initiator: body.initiator ?? api.user,
    ...(body.remark !== undefined ? { remark: body.remark } : {}),
  });
  return { status: 204 };
}

/** `POST /targets/{id}/autoConfirm/deactivate`. */
export async function deactivateAutoConfirm(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const target = await requireTarget(api, request.params.id);
  await api.service.setAutoConfirm(target.controllerId, { active: false });
  return { status: 204 };
}

const action = '/targets/:id/actions/:actionId';

export const actionOperationRoutes: Route[] = [
  {
    method: 'DELETE',
    path: '/actions',
    endpoint: deleteActions,
    query: ['q'],
    body: { schema: ActionIds },
  },
  { method: 'DELETE', path: '/actions/:actionId', endpoint: deleteAction },
  {
    method: 'DELETE',
    path: '/targets/:id/actions',
    endpoint: deleteTargetActions,
    query: ['keepLast'],
    body: { schema: ActionIds },
  },
  { method: 'PUT', path: action, endpoint: updateTargetAction, body: { schema: ActionUpdate } },
  {
    method: 'PUT',
    path: `${action}/confirmation`,
    endpoint: confirmTargetAction,
    body: { schema: ConfirmationBody },
  },
  { method: 'GET', path: '/targets/:id/autoConfirm', endpoint: getAutoConfirm },
  {
    method: 'POST',
    path: '/targets/:id/autoConfirm/activate',
    endpoint: activateAutoConfirm,
    body: { schema: AutoConfirmBody },
  },
  { method: 'POST', path: '/targets/:id/autoConfirm/deactivate', endpoint: deactivateAutoConfirm },
];
