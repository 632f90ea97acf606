import {
  type ActionView,
  isForcedNow,
  type Logger,
  METADATA,
  metadataScope,
  type SoftwareModule,
  type TargetView,
} from '@otaflow/core';
import { isMaintenanceWindowOpen } from '../maintenanceWindow.js';
import type { DdiArtifact, DdiChunk, DdiDeployment, DdiHandling } from '../schemas.js';
import type { DdiRequest } from './DdiRequest.js';

const NO_HISTORY_PREFIX = 'Update Server: ';
const MAX_HISTORY_MESSAGES = 100;
/** hawkBit's legacy names for two module types. */
const LEGACY_PART: Readonly<Record<string, string>> = { application: 'bApp', runtime: 'jvm' };

/** Undefined without a window; a window that cannot be evaluated counts as closed. */
export function windowOpen(action: ActionView, now: number, logger: Logger): boolean | undefined {
  if (!action.maintenanceWindow) return undefined;
  try {
    return isMaintenanceWindowOpen(action.maintenanceWindow, now);
  } catch (err) {
    logger.warn(
      { err, actionId: action.id },
      'maintenance window cannot be evaluated; treated as closed',
    );
    return false;
  }
}

/** hawkBit's `c`: changes when the action turns forced or its window opens, so the root ETag does. */
export function changeMarker(action: ActionView, now: number, logger: Logger): number {
  const forced = isForcedNow(action, now);
  const open = windowOpen(action, now, logger);
  return (Math.imul(31, action.id) + (forced ? 1231 : open ? 1249 : 1237)) | 0;
}

export function handlingOf(
  action: ActionView,
  now: number,
  logger: Logger,
): Pick<DdiDeployment, 'download' | 'update' | 'maintenanceWindow'> {
  const download: DdiHandling =
    action.type === 'downloadonly' || isForcedNow(action, now) ? 'forced' : 'attempt';
  let update: DdiHandling = action.type === 'downloadonly' ? 'skip' : download;
  const open = windowOpen(action, now, logger);
  if (open === undefined) return { download, update };
  if (!open) update = 'skip';
  return { download, update, maintenanceWindow: open ? 'available' : 'unavailable' };
}

/** An artifact with https links when the base is https, else hawkBit's `-http` links. */
export function artifactJson(
  base: string,
  module: SoftwareModule,
  a: SoftwareModule['artifacts'][number],
): DdiArtifact {
  const href = `${base}/softwaremodules/${module.id}/artifacts/${encodeURIComponent(a.filename)}`;
  const links: NonNullable<DdiArtifact['_links']> = href.startsWith('https:')
    ? { download: { href }, md5sum: { href: `${href}.MD5SUM` } }
    : { 'download-http': { href }, 'md5sum-http': { href: `${href}.MD5SUM` } };
  return {
    filename: a.filename,
    hashes: {
      sha1: a.hashes.sha1.toLowerCase(),
      md5: a.hashes.md5.toLowerCase(),
      sha256: a.hashes.sha256.toLowerCase(),
    },
    size: a.size,
    _links: links,
  };
}

export async function chunksOf(ctx: DdiRequest, action: ActionView): Promise<DdiChunk[]> {
  const { service } = ctx;
  const set = await service.requireDistributionSet(action.distributionSetId);
  const modules = await service.modulesOf(set);
  const base = ctx.base;
  // Entries set through the Management API reach devices only when marked `targetVisible`, as in
  // hawkBit; those a module was created with (`metadata` on the record) always do.
  const visible = await Promise.all(
    modules.map(async (m) =>
      (
        await service
          .collection(METADATA)
          .list({ sort: [{ field: 'key', direction: 'ASC' }] }, metadataScope.softwareModule(m.id))
      ).items.filter((e) => e.targetVisible === true),
    ),
  );
  return modules.map((m, i) => {
    const chunk: DdiChunk = {
      part: LEGACY_PART[m.type] ?? m.type,
      version: m.version,
      name: m.name,
      artifacts: m.artifacts.map((a) => artifactJson(base, m, a)),
    };
    if (m.encrypted) chunk.encrypted = true;
    const metadata = [
      ...m.metadata.map(({ key, value }) => ({ key, value })),
      ...(visible[i] ?? []).map(({ key, value }) => ({ key, value })),
    ];
    if (metadata.length > 0) chunk.metadata = metadata;
    return chunk;
  });
}

/** `actionHistory` as the `?actionHistory=n` query asks (negative: all, up to 100 messages). */
export async function historyOf(
  ctx: DdiRequest,
  action: ActionView,
): Promise<{ status: string; messages: string[] } | undefined> {
  const q = new URLSearchParams((ctx.req.url ?? '').split('?')[1] ?? '').get('actionHistory');
  const count = q === null ? 0 : Number.parseInt(q, 10);
  if (!Number.isFinite(count) || count === 0) return undefined;
  const limit = count < 0 ? MAX_HISTORY_MESSAGES : Math.min(count, MAX_HISTORY_MESSAGES);
  const entries = (await ctx.service.getActionHistory(action.id)) ?? [];
  const messages: string[] = [];
  for (let i = entries.length - 1; i >= 0 && messages.length < limit; i--) {
    const list = entries[i]!.messages ?? [];
    for (let j = list.length - 1; j >= 0 && messages.length < limit; j--) {
      if (!list[j]!.startsWith(NO_HISTORY_PREFIX)) messages.push(list[j]!);
    }
  }
  return messages.length > 0 ? { status: action.status, messages } : undefined;
}

/** The deploymentBase, installedBase or confirmationBase body of an action. */
export async function deploymentJson(
  ctx: DdiRequest,
  action: ActionView,
  key: 'deployment' | 'confirmation',
): Promise<Record<string, unknown>> {
  const now = ctx.service.now();
  const body: Record<string, unknown> = {
    id: String(action.id),
    [key]: { ...handlingOf(action, now, ctx.server.logger), chunks: await chunksOf(ctx, action) },
  };
  const history = await historyOf(ctx, action);
  if (history) body.actionHistory = history;
  return body;
}

export function cancelJson(action: ActionView): { id: string; cancelAction: { stopId: string } } {
  return { id: String(action.id), cancelAction: { stopId: String(action.id) } };
}

/** The newest finished action of the installed set: the target of the installedBase link. */
export function installedActionOf(
  target: TargetView,
  actions: readonly ActionView[],
): ActionView | undefined {
  if (target.installedDistributionSetId === undefined) return undefined;
  let found: ActionView | undefined;
  for (const a of actions) {
    if (a.status === 'FINISHED' && a.distributionSetId === target.installedDistributionSetId) {
      if (!found || a.id > found.id) found = a;
    }
  }
  return found;
}
