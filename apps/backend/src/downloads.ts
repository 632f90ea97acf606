import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, UpdateService } from '@otaflow/core';
import {
  authenticate,
  type DdiAuthOptions,
  isSafeArtifactName,
  sendJson,
  serveArtifact,
  springError,
} from '@otaflow/ddi-http';
import type { ArtifactStore } from './ArtifactStore.js';
import { type DownloadSigner, EXPIRES_PARAM, SIGNATURE_PARAM } from './downloadSigner.js';
import type { HttpHandler } from './http.js';

export const DOWNLOADS_PREFIX = '/artifacts/';

/** What `/artifacts/` downloads are served from and checked against. */
export interface DownloadsContext {
  service: UpdateService;
  artifacts: ArtifactStore;
  signer: DownloadSigner;
  /** The Management API's Basic credentials: a user may download any artifact. */
  user: string;
  password: string;
  /** The DDI server's auth settings; `anonymous` also lets unsigned, header-less downloads in. */
  ddi: DdiAuthOptions;
  logger: Logger;
}

/** Who a download was granted to, or why not. */
export type DownloadAccess =
  | { granted: true; via: 'signed' | 'user' | 'target' | 'gateway' | 'anonymous' }
  | { granted: false; status: 401 | 403; reason: string };

const PATH = /^\/artifacts\/(\d{1,15})\/([^/]+)$/;
const BASIC = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i;
const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="hawkBit"' };

/**
 * Decides whether a request may download one file: a signed link (checked first, since it names
 * exactly this file), the Management API user (Basic), a device as DDI lets it in (`TargetToken`
 * with `?controllerId=`, for a module of one of its open actions or its installed set, or the
 * tenant's `GatewayToken`), or nothing at all when DDI itself is anonymous.
 */
export async function authorizeDownload(
  ctx: DownloadsContext,
  req: IncomingMessage,
  query: URLSearchParams,
  moduleId: number,
  filename: string,
): Promise<DownloadAccess> {
  if (query.has(SIGNATURE_PARAM) || query.has(EXPIRES_PARAM)) {
    const check = ctx.signer.verify(
      moduleId,
      filename,
      query.get(EXPIRES_PARAM),
      query.get(SIGNATURE_PARAM),
    );
    if (check === 'valid') return { granted: true, via: 'signed' };
    return { granted: false, status: 403, reason: `${check} download link` };
  }
  const header = req.headers.authorization;
  if (header !== undefined && /^Basic\s/i.test(header)) {
    return basicMatches(header, ctx.user, ctx.password)
      ? { granted: true, via: 'user' }
      : { granted: false, status: 401, reason: 'wrong user or password' };
  }
  const controllerId = query.get('controllerId');
  const target =
    controllerId && header?.startsWith('TargetToken ')
      ? await ctx.service.getTarget(controllerId)
      : undefined;
  const via = authenticate(ctx.ddi, req, target);
  if (via === undefined)
    return {
      granted: false,
      status: 401,
      reason: header === undefined ? 'no credentials' : 'wrong credentials',
    };
  if (via === 'target' && !(await mayDownload(ctx.service, controllerId ?? '', moduleId)))
    return { granted: false, status: 403, reason: 'module not assigned to this target' };
  return { granted: true, via };
}

/** DDI's rule: a module of one of the target's open actions or of its installed set. */
async function mayDownload(
  service: UpdateService,
  controllerId: string,
  moduleId: number,
): Promise<boolean> {
  const target = await service.getTarget(controllerId);
  if (!target) return false;
  const sets = new Set<number>();
  for (const action of await service.listActions(controllerId))
    if (action.active && action.status !== 'CANCELING') sets.add(action.distributionSetId);
  if (target.installedDistributionSetId !== undefined) sets.add(target.installedDistributionSetId);
  for (const id of sets)
    if ((await service.getDistributionSet(id))?.modules.includes(moduleId)) return true;
  return false;
}

function basicMatches(header: string, user: string, password: string): boolean {
  const given = Buffer.from(BASIC.exec(header)?.[1] ?? '', 'base64');
  const expected = Buffer.from(`${user}:${password}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * `GET|HEAD /artifacts/{moduleId}/{filename}`: downloads for devices that are not DDI devices (MQTT
 * `install` links, SIE `urls`) and for users. Credentials are checked before the file is looked
 * up, so a refusal says nothing about what exists; refusals are Spring Boot's bodies, as hawkBit's
 * security layer answers them. Served by ddi-http's `serveArtifact` (ranges, If-Range, If-Match).
 */
export async function getDownload(
  ctx: DownloadsContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const match = PATH.exec(path);
  if (!match) {
    sendJson(res, 404, springError(404, path));
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, springError(405, path), { headers: { Allow: 'GET, HEAD' } });
    return;
  }
  let filename: string;
  try {
    filename = decodeURIComponent(match[2] ?? '');
  } catch {
    sendJson(res, 400, springError(400, path));
    return;
  }
  const moduleId = Number(match[1]);
  const access = await authorizeDownload(ctx, req, url.searchParams, moduleId, filename);
  if (!access.granted) {
    ctx.logger.debug({ moduleId, filename, reason: access.reason }, 'download refused');
    sendJson(res, access.status, springError(access.status, path), {
      headers: access.status === 401 ? CHALLENGE : {},
    });
    return;
  }
  const stored = isSafeArtifactName(filename)
    ? await ctx.artifacts.stat(moduleId, filename)
    : undefined;
  if (!stored) {
    sendJson(res, 404, springError(404, path));
    return;
  }
  const served = { moduleId, filename, size: stored.size, sha1: stored.hashes.sha1 };
  await serveArtifact(
    req,
    res,
    stored.lastModified === undefined ? served : { ...served, lastModified: stored.lastModified },
    ctx.artifacts,
  );
}

/** The `/artifacts/` handler and the links it accepts without headers. */
export interface Downloads extends HttpHandler {
  /** An absolute, signed, expiring link to one artifact under `base` (no trailing slash). */
  signedUrl(base: string, moduleId: number, filename: string): string;
}

export function createDownloads(ctx: DownloadsContext): Downloads {
  return {
    async handle(req, res) {
      // Other paths under the prefix are left to the handlers after this one, then 404.
      if (!PATH.test(new URL(req.url ?? '/', 'http://localhost').pathname)) return false;
      await getDownload(ctx, req, res);
      return true;
    },
    signedUrl(base, moduleId, filename) {
      const query = ctx.signer.sign(moduleId, filename);
      return `${base}${DOWNLOADS_PREFIX}${moduleId}/${encodeURIComponent(filename)}?${query}`;
    },
  };
}
