import { mapDdiConfirmation } from '@otaflow/core';
import { sendEmpty } from '../../http/sendJson.js';
import { DdiActivateAutoConfirmation, DdiConfirmationFeedback } from '../../schemas.js';
import { sendResource } from '../answers.js';
import type { DdiRequest } from '../DdiRequest.js';
import { actionOf, applyFeedback, contact, requireTarget } from '../lookups.js';
import { readJson } from '../readJson.js';
import { refused } from '../refusals.js';
import { changeMarker, deploymentJson } from '../representations.js';

const DEFAULT_REMARK =
  'Initiated using the Device Direct Integration API without providing a remark.';

/** `GET .../confirmationBase`: the auto-confirmation state and the action waiting, if any. */
export async function getConfirmationBase(ctx: DdiRequest): Promise<void> {
  const target = await contact(ctx);
  const { service, logger } = ctx.server;
  const auto = target.autoConfirm;
  const links: Record<string, { href: string }> = {};
  if (auto?.active)
    links.deactivateAutoConfirm = { href: `${ctx.base}/confirmationBase/deactivateAutoConfirm` };
  else links.activateAutoConfirm = { href: `${ctx.base}/confirmationBase/activateAutoConfirm` };
  const next = await service.nextActionFor(ctx.controllerId);
  if (next?.kind === 'confirmation') {
    links.confirmationBase = {
      href: `${ctx.base}/confirmationBase/${next.action.id}?c=${changeMarker(next.action, service.now(), logger)}`,
    };
  }
  const autoConfirm: Record<string, unknown> = { active: auto?.active === true };
  if (auto?.active) {
    if (auto.initiator !== undefined) autoConfirm.initiator = auto.initiator;
    if (auto.remark !== undefined) autoConfirm.remark = auto.remark;
    if (auto.activatedAt !== undefined) autoConfirm.activatedAt = auto.activatedAt;
  }
  sendResource(ctx, { autoConfirm, _links: links });
}

/** `GET .../confirmationBase/{actionId}`: the action that waits for the device's consent. */
export async function getConfirmationAction(ctx: DdiRequest, actionId: number): Promise<void> {
  const action = await actionOf(ctx, actionId);
  if (!action.active || action.status !== 'WAIT_FOR_CONFIRMATION') throw refused(404);
  sendResource(ctx, await deploymentJson(ctx, action, 'confirmation'));
}

/** `POST .../confirmationBase/{actionId}/feedback`: confirmed or denied. */
export async function postConfirmationFeedback(ctx: DdiRequest, actionId: number): Promise<void> {
  const body = await readJson(ctx, DdiConfirmationFeedback);
  const action = await actionOf(ctx, actionId);
  if (!action.active) throw refused(410);
  if (action.status !== 'WAIT_FOR_CONFIRMATION') throw refused(404);
  const mapped = mapDdiConfirmation(body.confirmation, {
    at: ctx.service.now(),
    messages: body.details,
    code: body.code,
  });
  await applyFeedback(ctx, action.id, mapped);
}

/** `POST .../confirmationBase/activateAutoConfirm`: 409 when it is on already. */
export async function activateAutoConfirm(ctx: DdiRequest): Promise<void> {
  const body = await readJson(ctx, DdiActivateAutoConfirmation, true);
  const target = requireTarget(ctx);
  if (target.autoConfirm?.active) {
    throw refused(
      409,
      'autoConfirmActive',
      `Auto confirmation is already active for target ${ctx.controllerId}.`,
    );
  }
  await ctx.service.setAutoConfirm(ctx.controllerId, {
    active: true,
    remark: body.remark ?? DEFAULT_REMARK,
    ...(body.initiator !== undefined ? { initiator: body.initiator } : {}),
  });
  sendEmpty(ctx.res, 200);
}

/** `POST .../confirmationBase/deactivateAutoConfirm`. */
export async function deactivateAutoConfirm(ctx: DdiRequest): Promise<void> {
  requireTarget(ctx);
  for await (const _ of ctx.req) {
    // The body, if any, means nothing; it is read only to keep the connection reusable.
  }
  await ctx.service.setAutoConfirm(ctx.controllerId, { active: false });
  sendEmpty(ctx.res, 200);
}
