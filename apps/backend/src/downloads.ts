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
import { type BasicAuth, requirePermissions } from './management/basicAuth.js';
import { problemOf } from './management/Problem.js';

export const DOWNLOADS_PREFIX = '/artifacts/';

/** One tenant's downloads: what they are served from and checked against. */
export interface DownloadsTenant {
  tenant: string;
  service: UpdateService;
  artifacts: ArtifactStore;
  /** Signs this tenant's links only: a link of one tenant opens nothing of another. */
  signer: DownloadSigner;
  /** The DDI server's auth settings now; `anonymous` also lets unsigned, header-less downloads in. */
  ddiAuth(): DdiAuthOptions;
}

/** What `/artifacts/` downloads are served from and checked against. */
export interface DownloadsContext {
  /** The tenant of a path (`/artifacts/{tenant}/...`), or the default one (`/artifacts/...`). */
  tenantOf(name: string | undefined): DownloadsTenant | undefined;
  /** The Management API's users: one with DOWNLOAD_REPOSITORY_ARTIFACT of the tenant may. */
  auth: BasicAuth;
  logger: Logger;
}

/** Who a download was granted to, or why not. */
export type DownloadAccess =
  | { granted: true; via: 'signed' | 'user' | 'target' | 'gateway' | 'anonymous' }
  | { granted: false; status: 401 | 403; reason: string };

const PATH = /^\/artifacts\/(?:([A-Za-z0-9_-]{1,64})\/)?(\d{1,15})\/([^/]+)$/;
const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="hawkBit"' };

/**
 * Decides whether a request may download one file: a signed link (checked first, since it names
 * exactly this file), the Management API user (Basic), a device as DDI lets it in (`TargetToken`
 * with `?controllerId=`, for a module of one of its open actions or its installed set, or the
 * tenant's `GatewayToken`), or nothing at all when DDI itself is anonymous.
 */
export async function authorizeDownload(
  ctx: DownloadsContext,
  tenant: DownloadsTenant,
  req: IncomingMessage,
  query: URLSearchParams,
  moduleId: number,
  filename: string,
): Promise<DownloadAccess> {
  if (query.has(SIGNATURE_PARAM) || query.has(EXPIRES_PARAM)) {
    const check = tenant.signer.verify(
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
    try {
      const principal = await ctx.auth(req);
      if (principal.tenant.toLowerCase() !== tenant.tenant.toLowerCase())
        return { granted: false, status: 403, reason: 'a user of another tenant' };
      requirePermissions(principal, ['DOWNLOAD_REPOSITORY_ARTIFACT']);
      return { granted: true, via: 'user' };
    } catch (error) {
      const problem = problemOf(error);
      if (!problem) throw error;
      return {
        granted: false,
        status: problem.status === 403 ? 403 : 401,
        reason: problem.status === 403 ? 'no download permission' : 'wrong user or password',
      };
    }
  }
  const controllerId = query.get('controllerId');
  const target =
    controllerId && header?.startsWith('TargetToken ')
      ? await tenant.service.getTarget(controllerId)
      : undefined;
  const via = authenticate(tenant.ddiAuth(), req, target);
  if (via === undefined)
    return {
      granted: false,
      status: 401,
      reason: header === undefined ? 'no credentials' : 'wrong credentials',
    };
  if (via === 'target' && !(await mayDownload(tenant.service, controllerId ?? '', moduleId)))
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

/**
 * `GET|HEAD /artifacts/[{tenant}/]{moduleId}/{filename}`: downloads for devices that are not DDI devices (MQTT
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
  const tenant = ctx.tenantOf(match[1]);
  if (!tenant) {
    sendJson(res, 404, springError(404, path));
    return;
  }
  let filename: string;
  try {
    filename = decodeURIComponent(match[3] ?? '');
  } catch {
    sendJson(res, 400, springError(400, path));
    return;
  }
  const moduleId = Number(match[2]);
  const access = await authorizeDownload(ctx, tenant, req, url.searchParams, moduleId, filename);
  if (!access.granted) {
    ctx.logger.debug({ moduleId, filename, reason: access.reason }, 'download refused');
    sendJson(res, access.status, springError(access.status, path), {
      headers: access.status === 401 ? CHALLENGE : {},
    });
    return;
  }
  const stored = isSafeArtifactName(filename)
    ? await tenant.artifacts.stat(moduleId, filename)
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
    tenant.artifacts,
  );
}

/** The `/artifacts/` handler and the links it accepts without headers. */
export interface Downloads extends HttpHandler {
  /**
   * An absolute, signed, expiring link to one of `tenant`'s artifacts under `base` (no trailing
   * slash); undefined for a tenant the backend does not serve.
   */
  signedUrl(base: string, tenant: string, moduleId: number, filename: string): string;
}

export function createDownloads(ctx: DownloadsContext): Downloads {
  return {
    async handle(req, res) {
      // Other paths under the prefix are left to the handlers after this one, then 404.
      if (!PATH.test(new URL(req.url ?? '/', 'http://localhost').pathname)) return false;
      await getDownload(ctx, req, res);
      return true;
    },
    signedUrl(base, name, moduleId, filename) {
      const tenant = ctx.tenantOf(name);
      if (!tenant) throw new Error(`no tenant ${name}`);
      const query = tenant.signer.sign(moduleId, filename);
      // The default tenant's links keep the short form they always had.
      const prefix = ctx.tenantOf(undefined) === tenant ? '' : `${encodeURIComponent(name)}/`;
      return `${base}${DOWNLOADS_PREFIX}${prefix}${moduleId}/${encodeURIComponent(filename)}?${query}`;
    },
  };
}
