import { selectNextAction } from '@otaflow/core';
import { sendResource } from '../answers.js';
import type { DdiRequest } from '../DdiRequest.js';
import { contact } from '../lookups.js';
import { changeMarker, installedActionOf } from '../representations.js';

/** `GET /{tenant}/controller/v1/{controllerId}`: the poll, with links to what is next. */
export async function getRoot(ctx: DdiRequest): Promise<void> {
  const target = await contact(ctx);
  const { service, logger, pollingSleep } = ctx.server;
  const now = service.now();
  const links: Record<string, { href: string }> = {};
  // One listing serves both links: `nextActionFor` is `selectNextAction` over the same list.
  const actions = await service.listActions(ctx.controllerId);
  const next = selectNextAction(actions);
  if (next?.kind === 'confirmation') {
    links.confirmationBase = {
      href: `${ctx.base}/confirmationBase/${next.action.id}?c=${changeMarker(next.action, now, logger)}`,
    };
  } else if (next?.kind === 'cancel') {
    links.cancelAction = { href: `${ctx.base}/cancelAction/${next.action.id}` };
  } else if (next) {
    links.deploymentBase = {
      href: `${ctx.base}/deploymentBase/${next.action.id}?c=${changeMarker(next.action, now, logger)}`,
    };
  }
  const installed = installedActionOf(target, actions);
  if (installed) links.installedBase = { href: `${ctx.base}/installedBase/${installed.id}` };
  if (target.requestAttributes) links.configData = { href: `${ctx.base}/configData` };
  const body: Record<string, unknown> = { config: { polling: { sleep: pollingSleep } } };
  if (Object.keys(links).length > 0) body._links = links;
  sendResource(ctx, body);
}
