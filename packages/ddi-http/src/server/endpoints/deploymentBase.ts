import { mapDdiFeedback } from '@otaflow/core';
import { sendEmpty } from '../../http/sendJson.js';
import { DdiActionFeedback } from '../../schemas.js';
import { sendResource } from '../answers.js';
import type { DdiRequest } from '../DdiRequest.js';
import { actionOf, applyFeedback, lastStatusIs, record, requireTarget } from '../lookups.js';
import { readJson } from '../readJson.js';
import { feedbackRefusal, notOwned, refused } from '../refusals.js';
import { deploymentJson } from '../representations.js';

const HIDDEN = ['CANCELING', 'CANCELED', 'WAIT_FOR_CONFIRMATION'];

/** `GET .../deploymentBase/{actionId}`: the update, marked RETRIEVED on first sight. */
export async function getDeploymentBase(ctx: DdiRequest, actionId: number): Promise<void> {
  const action = await actionOf(ctx, actionId);
  if (HIDDEN.includes(action.status)) throw refused(404);
  const body = await deploymentJson(ctx, action, 'deployment');
  // Unlike hawkBit, a closed action is shown but not touched.
  if (action.active && !(await lastStatusIs(ctx.service, action, 'RETRIEVED'))) {
    await record(ctx.server, action.id, {
      type: 'action.retrieved',
      at: ctx.service.now(),
      messages: [
        'Update Server: Target retrieved update action and should start now the download.',
      ],
    });
  }
  sendResource(ctx, body);
}

/** `POST .../deploymentBase/{actionId}/feedback`: a progress or final report. */
export async function postDeploymentFeedback(ctx: DdiRequest, actionId: number): Promise<void> {
  const body = await readJson(ctx, DdiActionFeedback);
  requireTarget(ctx);
  const { service } = ctx;
  const mapped = mapDdiFeedback('deployment', {
    execution: body.status.execution,
    finished: body.status.result.finished,
    at: body.timestamp ?? service.now(),
    messages: body.status.details,
    code: body.status.code,
  });
  if (mapped.kind === 'ignored') {
    // Nothing to apply, so nothing checks ownership on the way: read the action for it.
    const action = await service.getAction(actionId);
    if (!action || action.controllerId !== ctx.controllerId)
      throw notOwned(ctx.controllerId, actionId);
    if (action.status === 'WAIT_FOR_CONFIRMATION') throw refused(404);
    await applyFeedback(ctx, actionId, mapped);
    return;
  }
  // The ownership-checked apply reads the action once: another target's action is
  // ACTION_NOT_FOUND, a waiting one refuses every deployment report (EVENT_NOT_ALLOWED: 404).
  const result = await service.apply(actionId, mapped.event, {
    controllerId: ctx.controllerId,
    statusQuota: true,
  });
  if (!result.ok) {
    if (result.code === 'ACTION_NOT_FOUND') throw notOwned(ctx.controllerId, actionId);
    throw feedbackRefusal(result);
  }
  sendEmpty(ctx.res, 200);
}
