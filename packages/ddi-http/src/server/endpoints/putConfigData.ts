import { MAX_ATTRIBUTES_PER_TARGET } from '@otaflow/core';
import { sendEmpty } from '../../http/sendJson.js';
import { DdiConfigData } from '../../schemas.js';
import type { DdiRequest } from '../DdiRequest.js';
import { requireTarget } from '../lookups.js';
import { readJson } from '../readJson.js';
import { quotaExceeded, refused } from '../refusals.js';

const ATTRIBUTE_MAX = 128;

function attributeQuota(controllerId: string, requested: number) {
  return quotaExceeded(
    `Quota exceeded: target ${controllerId} may have at most ${MAX_ATTRIBUTES_PER_TARGET} attributes (${requested} requested).`,
    { limit: MAX_ATTRIBUTES_PER_TARGET, requested },
  );
}

/**
 * `PUT .../configData`: the device's attributes, merged, replaced or removed. At most
 * `MAX_ATTRIBUTES_PER_TARGET` are kept (hawkBit's `maxAttributeEntriesPerTarget`): a change that
 * would grow past it is 429 and stores nothing.
 */
export async function putConfigData(ctx: DdiRequest): Promise<void> {
  const body = await readJson(ctx, DdiConfigData);
  const target = requireTarget(ctx);
  const entries = Object.entries(body.data);
  for (const [key, value] of entries) {
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
  // Null-prototype maps: a key such as `__proto__` is an attribute like any other.
  const present: Record<string, string> = Object.create(null);
  const nulls: Record<string, string> = Object.create(null);
  for (const [key, value] of entries) {
    if (value === null) nulls[key] = '';
    else present[key] = value;
  }
  const before = target.attributes;
  const had = Object.keys(before).length;
  let after = 0;
  if (mode === 'replace') after = Object.keys(present).length;
  else if (mode === 'merge') {
    after = had;
    for (const key of Object.keys(present)) if (!Object.hasOwn(before, key)) after++;
    for (const key of Object.keys(nulls)) if (Object.hasOwn(before, key)) after--;
  }
  // Refused before anything is written; the service checks again against what it reads.
  if (after > MAX_ATTRIBUTES_PER_TARGET && after > had)
    throw attributeQuota(ctx.controllerId, after);
  try {
    if (mode === 'remove')
      await service.updateAttributes(ctx.controllerId, { ...present, ...nulls }, 'remove');
    else if (mode === 'replace') await service.updateAttributes(ctx.controllerId, present, mode);
    else {
      // Removals first when the merge alone would pass the quota on the way to an end within it.
      const removeFirst =
        Object.keys(nulls).length > 0 && had + entries.length > MAX_ATTRIBUTES_PER_TARGET;
      if (removeFirst) await service.updateAttributes(ctx.controllerId, nulls, 'remove');
      await service.updateAttributes(ctx.controllerId, present, mode);
      if (!removeFirst && Object.keys(nulls).length > 0)
        await service.updateAttributes(ctx.controllerId, nulls, 'remove');
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'QUOTA_EXCEEDED')
      throw attributeQuota(
        ctx.controllerId,
        (error as { details?: { requested?: number } }).details?.requested ?? after,
      );
    throw error;
  }
  sendEmpty(ctx.res, 200);
}
