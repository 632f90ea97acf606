import { queryList, storeListQuery } from '../query.js';
import { actionListNames, statusFields } from './fields.js';
import type { EndpointRequest, ManagementContext, Reply, Route } from './ManagementContext.js';
import { LIST_QUERY } from './openApiDocument.js';
import { hawkbitProblem, notFound } from './Problem.js';
import { actionJson, type NumberedStatusEntry, paged, statusEntryJson } from './representations.js';
import { intParam, requireActionOf, requireTarget } from './requests.js';

/** `GET /targets/{id}/actions`: newest first by default. */
export async function listTargetActions(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const target = await requireTarget(api, request.params.id);
  const query = storeListQuery(request.query, actionListNames, 'id:DESC');
  const page = await api.service.pageActions(query, target.controllerId);
  const content = [];
  for (const a of page.items) content.push(await actionJson(api, request.base, a, false));
  return { status: 200, body: paged(content, page.total) };
}

export async function getTargetAction(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const action = await requireActionOf(api, request.params.id, request.params.actionId);
  return { status: 200, body: await actionJson(api, request.base, action, true) };
}

/**
 * `DELETE /targets/{id}/actions/{actionId}`: cancels an active action; with `force=true`,
 * force-quits one that is canceling already (hawkBit allows nothing else).
 */
export async function cancelTargetAction(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const action = await requireActionOf(api, request.params.id, request.params.actionId);
  const force = request.query.get('force')?.toLowerCase() === 'true';
  if (force) {
    if (!action.active || action.status !== 'CANCELING') {
      throw hawkbitProblem(
        405,
        'notForceQuitable',
        `${action.id} is not canceled yet and cannot be force quit`,
      );
    }
    const result = await api.service.forceQuit(action.id, [
      'Update Server: A force quit has been performed.',
    ]);
    if (!result.ok) throw hawkbitProblem(405, 'notForceQuitable', result.message);
  } else {
    if (!action.active)
      throw hawkbitProblem(
        405,
        'notCancelable',
        `${action.id} is not active and cannot be canceled`,
      );
    if (action.status === 'CANCELING') {
      throw hawkbitProblem(
        405,
        'notCancelable',
        'Actions in canceling or canceled state cannot be canceled',
      );
    }
    const result = await api.service.cancel(action.id, [
      'Update Server: manual cancelation requested',
    ]);
    if (!result.ok) throw hawkbitProblem(405, 'notCancelable', result.message);
  }
  return { status: 204 };
}

/** `GET /targets/{id}/actions/{actionId}/status`: the action's history, newest first. */
export async function listActionStatus(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const action = await requireActionOf(api, request.params.id, request.params.actionId);
  const history = (await api.service.getActionHistory(action.id)) ?? [];
  // hawkBit's entries have ids; ours are their position in the action's (bounded) history.
  const entries: NumberedStatusEntry[] = history.map((e, i) => ({ ...e, id: i + 1 }));
  const page = queryList(entries, request.query, statusFields, 'id:DESC', { allowQ: false });
  return { status: 200, body: paged(page.items.map(statusEntryJson), page.total) };
}

/**
 * `GET /actions`: every action of the tenant, filtered (RSQL over the action's fields and
 * `target.controllerId`), sorted and paged in the store; `representation=full` as for one action.
 */
export async function listActions(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const query = storeListQuery(request.query, actionListNames, 'id:ASC');
  const full = request.query.get('representation')?.toLowerCase() === 'full';
  const page = await api.service.pageActions(query);
  const content = [];
  for (const a of page.items) content.push(await actionJson(api, request.base, a, full));
  return { status: 200, body: paged(content, page.total) };
}

/** `GET /actions/{actionId}`: one action, whichever its target. */
export async function getAction(api: ManagementContext, request: EndpointRequest): Promise<Reply> {
  const id = intParam(request.params.actionId, 'Action');
  const action = await api.service.getAction(id);
  if (!action) throw notFound('Action', request.params.actionId ?? '');
  return { status: 200, body: await actionJson(api, request.base, action, true) };
}

export const actionRoutes: Route[] = [
  {
    method: 'GET',
    path: '/actions',
    endpoint: listActions,
    query: [...LIST_QUERY, 'representation'],
  },
  { method: 'GET', path: '/actions/:actionId', endpoint: getAction },
  { method: 'GET', path: '/targets/:id/actions', endpoint: listTargetActions, query: LIST_QUERY },
  { method: 'GET', path: '/targets/:id/actions/:actionId', endpoint: getTargetAction },
  {
    method: 'DELETE',
    path: '/targets/:id/actions/:actionId',
    endpoint: cancelTargetAction,
    query: ['force'],
  },
  {
    method: 'GET',
    path: '/targets/:id/actions/:actionId/status',
    endpoint: listActionStatus,
    query: LIST_QUERY,
  },
];
