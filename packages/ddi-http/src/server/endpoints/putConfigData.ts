import { sendEmpty } from '../../http/sendJson.js';
import { DdiConfigData } from '../../schemas.js';
import type { DdiRequest } from '../DdiRequest.js';
import { requireTarget } from '../lookups.js';
import { readJson } from '../readJson.js';
import { refused } from '../refusals.js';

const ATTRIBUTE_MAX = 128;

/** `PUT .../configData`: the device's attributes, merged, replaced or removed. */
export async function putConfigData(ctx: DdiRequest): Promise<void> {
  const body = await readJson(ctx, DdiConfigData);
  requireTarget(ctx);
  for (const [key, value] of Object.entries(body.data)) {
    if (key.length > ATTRIBUTE_MAX || (value !== null && value.length > ATTRIBUTE_MAX)) {
      throw refused(
        400,
        'invalidTargetAttributes',
        `Target attribute key and value are limited to ${ATTRIBUTE_MAX} characters.`,
      );
    }
  }
  const { service } = ctx;
  const mode = body.mode ?? 'merge';
  const present: Record<string, string> = {};
  const nulls: Record<string, string> = {};
  for (const [key, value] of Object.entries(body.data)) {
    if (value === null) nulls[key] = '';
    else present[key] = value;
  }
  if (mode === 'remove')
    await service.updateAttributes(ctx.controllerId, body.data as Record<string, string>, 'remove');
  else {
    await service.updateAttributes(ctx.controllerId, present, mode);
    if (mode === 'merge' && Object.keys(nulls).length > 0)
      await service.updateAttributes(ctx.controllerId, nulls, 'remove');
  }
  sendEmpty(ctx.res, 200);
}
