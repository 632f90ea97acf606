import type {
  ActionView,
  MappingResult,
  SoftwareModule,
  TargetView,
  UpdateService,
} from '@otaflow/core';
import { sendEmpty } from '../http/sendJson.js';
import type { DdiRequest, DdiServerContext } from './DdiRequest.js';
import { feedbackRefusal, notFound, notOwned, tooManyRegistrations } from './refusals.js';

export function requireTarget(ctx: DdiRequest): TargetView {
  if (!ctx.target)
    throw notFound(`Target with given identifier {${ctx.controllerId}} does not exist.`);
  return ctx.target;
}

/** The action, if it exists and belongs to the target (hawkBit answers both with 404). */
export async function actionOf(ctx: DdiRequest, actionId: number): Promise<ActionView> {
  requireTarget(ctx);
  const action = await ctx.service.getAction(actionId);
  if (!action || action.controllerId !== ctx.controllerId)
    throw notOwned(ctx.controllerId, actionId);
  return action;
}

/** The module, when one of the target's actions (or its installed set, if allowed) holds it. */
export async function moduleFor(
  ctx: DdiRequest,
  moduleId: number,
  allowInstalled: boolean,
): Promise<SoftwareModule> {
  const target = requireTarget(ctx);
  const { service } = ctx;
  const missing = notFound(`SoftwareModule with given identifier {${moduleId}} does not exist.`);
  const module = await service.getSoftwareModule(moduleId);
  if (!module) throw missing;
  const sets = new Set<number>();
  for (const a of await service.listActions(ctx.controllerId)) {
    if (a.active && a.status !== 'CANCELING') sets.add(a.distributionSetId);
  }
  if (allowInstalled && target.installedDistributionSetId !== undefined)
    sets.add(target.installedDistributionSetId);
  for (const id of sets) {
    const set = await service.getDistributionSet(id);
    if (set?.modules.includes(moduleId)) return module;
  }
  throw missing;
}

/** The last history entry has this status already (hawkBit then adds no RETRIEVED). */
export async function lastStatusIs(
  service: UpdateService,
  action: ActionView,
  status: string,
): Promise<boolean> {
  const history = await service.getActionHistory(action.id);
  return history?.at(-1)?.status === status;
}

/** A status the server records on its own (retrieved, download); a refusal is only logged. */
export async function record(
  server: DdiServerContext,
  actionId: number,
  event: Parameters<UpdateService['apply']>[1],
): Promise<void> {
  const result = await server.service.apply(actionId, event);
  if (!result.ok && result.code !== 'ACTION_CLOSED')
    server.logger.warn(
      { actionId, event: event.type, code: result.code, reason: result.message },
      'side effect refused',
    );
}

/** Applies mapped feedback and answers 200; `closedOk` lets a repeat on a closed action pass. */
export async function applyFeedback(
  ctx: DdiRequest,
  actionId: number,
  mapped: MappingResult,
  closedOk = false,
): Promise<void> {
  if (mapped.kind === 'ignored') {
    ctx.server.logger.warn({ actionId, reason: mapped.reason }, 'feedback ignored');
    sendEmpty(ctx.res, 200);
    return;
  }
  const result = await ctx.service.apply(actionId, mapped.event, { statusQuota: true });
  if (!result.ok && !(closedOk && result.code === 'ACTION_CLOSED')) throw feedbackRefusal(result);
  sendEmpty(ctx.res, 200);
}

/**
 * Records the poll. A known target's poll time is recorded at most once per interval and then
 * written in a batch with other devices' (`service.touch`), like hawkBit's batched poll-time
 * persistence, so a poll costs no write; registration, UNKNOWN -> REGISTERED and a new address
 * or channel are written at once.
 */
export async function contact(ctx: DdiRequest): Promise<TargetView> {
  const { server } = ctx;
  const register = server.autoRegister && ctx.via !== 'target';
  const address = ctx.req.socket.remoteAddress;
  const known = ctx.target;
  if (
    known &&
    known.updateStatus !== 'UNKNOWN' &&
    known.lastContactAt !== undefined &&
    known.channel === 'ddi' &&
    (!address || known.address === `http://${address}`)
  ) {
    const now = server.service.now();
    if (now - known.lastContactAt >= server.contactIntervalMs)
      server.service.touch(ctx.controllerId, now);
    return known;
  }
  if (!known && register && server.registrations) {
    const waitMs = server.registrations.take(address);
    if (waitMs > 0) throw tooManyRegistrations(ctx.res, waitMs);
  }
  try {
    return await server.service.contact(ctx.controllerId, {
      autoRegister: register,
      channel: 'ddi',
      ...(address ? { address: `http://${address}` } : {}),
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'TARGET_NOT_FOUND') {
      throw notFound(`Target with given identifier {${ctx.controllerId}} does not exist.`);
    }
    throw error;
  }
}
