import { sendEmpty } from '../../http/sendJson.js';
import { DdiAssignedVersion } from '../../schemas.js';
import { sendResource } from '../answers.js';
import type { DdiRequest } from '../DdiRequest.js';
import { actionOf, requireTarget } from '../lookups.js';
import { readJson } from '../readJson.js';
import { feedbackRefusal, notFound, refused } from '../refusals.js';
import { deploymentJson } from '../representations.js';

/** `GET .../installedBase/{actionId}`: a finished action, as its deployment looked. */
export async function getInstalledBase(ctx: DdiRequest, actionId: number): Promise<void> {
  const action = await actionOf(ctx, actionId);
  if (action.active || action.status === 'CANCELED' || action.status === 'CANCELING')
    throw refused(404);
  sendResource(ctx, await deploymentJson(ctx, action, 'deployment'));
}

/** `PUT .../installedBase`: the device reports a set installed by other means. */
export async function putInstalledBase(ctx: DdiRequest): Promise<void> {
  const body = await readJson(ctx, DdiAssignedVersion);
  const target = requireTarget(ctx);
  const { service } = ctx;
  const set = await service.findDistributionSet(body.name, body.version);
  if (!set)
    throw notFound(
      `DistributionSet with given identifier {${body.name}:${body.version}} does not exist.`,
    );
  if (target.installedDistributionSetId === set.id) {
    // Said after its restart: the device runs what its last action installed (rollouts may wait
    // for this before they count it as a success).
    await service.reportInstalled(ctx.controllerId, (installed) => installed.id === set.id);
    sendEmpty(ctx.res, 200);
    return;
  }
  // An offline assignment: the set was installed by other means, so its action ends at once.
  const assigned = await service.assign(set.id, [
    { controllerId: ctx.controllerId, type: 'forced' },
  ]);
  let action = assigned.actions[0];
  if (!action)
    action = (await service.listActions(ctx.controllerId)).find(
      (a) => a.active && a.distributionSetId === set.id,
    );
  if (action) {
    const result = await service.apply(action.id, {
      type: 'action.finished',
      result: 'success',
      at: service.now(),
      messages: [
        'Update Server: Distribution set reported as installed by the target (offline assignment).',
      ],
    });
    if (!result.ok) throw feedbackRefusal(result);
    await service.reportInstalled(ctx.controllerId, (installed) => installed.id === set.id);
  }
  sendEmpty(ctx.res, 201);
}
