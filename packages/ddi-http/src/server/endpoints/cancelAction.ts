import { mapDdiFeedback } from '@otaflow/core';
import { DdiActionFeedback } from '../../schemas.js';
import { sendResource } from '../answers.js';
import type { DdiRequest } from '../DdiRequest.js';
import { actionOf, applyFeedback, lastStatusIs, record } from '../lookups.js';
import { readJson } from '../readJson.js';
import { refused } from '../refusals.js';
import { cancelJson } from '../representations.js';

/** `GET .../cancelAction/{actionId}`: the cancel request, marked RETRIEVED on first sight. */
export async function getCancelAction(ctx: DdiRequest, actionId: number): Promise<void> {
  const action = await actionOf(ctx, actionId);
  if (action.status !== 'CANCELING' && action.status !== 'CANCELED') throw refused(404);
  if (action.active && !(await lastStatusIs(ctx.service, action, 'RETRIEVED'))) {
    await record(ctx.server, action.id, {
      type: 'action.retrieved',
      at: ctx.service.now(),
      messages: [
        'Update Server: Target retrieved cancel action and should start now the cancelation.',
      ],
    });
  }
  sendResource(ctx, cancelJson(action));
}

/** `POST .../cancelAction/{actionId}/feedback`: the device's answer to the cancel. */
export async function postCancelFeedback(ctx: DdiRequest, actionId: number): Promise<void> {
  const body = await readJson(ctx, DdiActionFeedback);
  const action = await actionOf(ctx, actionId);
  if (action.status !== 'CANCELING' && action.status !== 'CANCELED')
    throw refused(405, 'notCancelable', `Action ${actionId} is not canceling.`);
  const mapped = mapDdiFeedback('cancel', {
    execution: body.status.execution,
    finished: body.status.result.finished,
    at: body.timestamp ?? ctx.service.now(),
    messages: body.status.details,
    code: body.status.code,
  });
  // hawkBit answers 200 to a repeated cancel acknowledgement; the closed action stays as it is.
  await applyFeedback(ctx, action.id, mapped, true);
}
