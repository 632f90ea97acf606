import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger, silentLogger, type UpdateService } from '@otaflow/core';
import {
  DdiError,
  formatPollingSleep,
  isJsonContentType,
  negotiate,
  parsePollingSleep,
  readBody,
  requestBase,
  sendEmpty,
  sendJson,
  serveArtifact,
  springError,
} from '@otaflow/ddi-http';
import Router from 'find-my-way';
import type { ArtifactStore } from '../ArtifactStore.js';
import type { HttpHandler } from '../http.js';
import { RolloutEngine } from '../rollouts/RolloutEngine.js';
import { type Permission, routePermissions } from '../tenants/permissions.js';
import { TenantSettings, type TenantValues } from '../tenants/TenantSettings.js';
import type { User } from '../tenants/users.js';
import { type BasicAuth, createBasicAuth, requirePermissions } from './basicAuth.js';
import type {
  EndpointRequest,
  ManagementContext,
  Method,
  Reply,
  Route,
  TenantApi,
} from './ManagementContext.js';
import { notReadable, Problem, problemOf, springProblem } from './Problem.js';
import { DEFAULT_QUOTAS, type ManagementQuotas } from './quotas.js';
import { MGMT_BASE } from './representations.js';
import { requireAssignableSet } from './requests.js';
import { MANAGEMENT_ROUTES } from './routes.js';
import { compatibleTargets } from './typeCatalogue.js';

export interface ManagementApiOptions {
  /**
   * Each tenant's part of the API, by the name a user's tenant has; a backend of several
   * tenants gives this. Without it, the one tenant of `service`, `artifacts` and `tenant`.
   */
  tenantApi?: (tenant: string) => TenantApi | undefined;
  service?: UpdateService;
  artifacts?: ArtifactStore;
  /** Basic-auth credentials of the one user (hawkBit's default is admin/admin), or `users`. */
  user?: string;
  password?: string;
  users?: readonly User[];
  tenant?: string;
  /** Base of the absolute `_links` hrefs; the request's Host when unset. */
  publicUrl?: string;
  /** Largest artifact upload (hawkBit: 1 GiB); above it the answer is 429. */
  maxArtifactBytes?: number;
  /** Polling interval the DDI side announces, for `pollStatus` (hawkBit: 5 min). */
  pollingTimeMs?: number;
  logger?: Logger;
  /** The resource modules' routes (default: all of them); tests may mount fewer or more. */
  routes?: readonly Route[];
  /** Wrong passwords a client address may send before it must wait (default 10; 0: no limit). */
  authMaxFailures?: number;
  /** Time in which that allowance grows back (default 60 s). */
  authWindowMs?: number;
  /** The Basic auth to use, when another surface shares it (default: one made from the above). */
  auth?: BasicAuth;
  /** hawkBit's quotas; each defaults to hawkBit's value (core's rules). */
  quotas?: Partial<ManagementQuotas>;
  /**
   * Answers 500 when an endpoint reads a body or a query parameter its route does not declare,
   * so that the test suite proves the OpenAPI document complete. For tests; off in production.
   */
  strictDocs?: boolean;
  /** The backend's rollout engine; one that evaluates only when asked when unset (tests). */
  rollouts?: RolloutEngine;
}

const MAX_JSON_BYTES = 4 * 1024 * 1024;
const METHODS: readonly Method[] = ['GET', 'POST', 'PUT', 'DELETE'];
/** hawkBit answers hal+json unless the client asks for plain JSON. */
const OFFERED = ['application/hal+json', 'application/json'] as const;

/**
 * The hawkBit Management API v1 subset under `/rest/v1`, with hawkBit's paths, JSON shapes,
 * `_links`, status codes and error bodies, over an `UpdateService` (all state lives there and in
 * the artifact store; this object keeps none of its own). One find-my-way router over the
 * resource modules' routes; auth, negotiation and error answers are done here, once.
 */
export function createManagementApi(options: ManagementApiOptions): HttpHandler {
  const logger = options.logger ?? silentLogger;
  const tenantApi = options.tenantApi ?? singleTenant(options);
  const authenticate = options.auth ?? createBasicAuth(options);
  // find-my-way's default of 100 characters per parameter made a 256-character controller id
  // (percent-encoded: up to 9 bytes per UTF-16 unit) a 404 after it was created.
  const router = Router({ ignoreTrailingSlash: true, maxParamLength: 256 * 9 });
  const permissions = new Map<Route, readonly Permission[]>();
  for (const route of options.routes ?? MANAGEMENT_ROUTES) {
    router.on(route.method, route.path, () => {}, route);
    permissions.set(route, route.permissions ?? routePermissions(route.method, route.path));
  }

  const write = (res: ServerResponse, path: string, contentType: string, problem: Problem) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (problem.spring)
      sendJson(res, problem.status, springError(problem.status, path), {
        headers: problem.headers,
      });
    else if (problem.body)
      sendJson(res, problem.status, problem.body, { contentType, headers: problem.headers });
    else sendEmpty(res, problem.status, problem.headers);
  };

  return {
    async handle(req, res) {
      const { pathname, search } = splitTarget(req.url);
      if (pathname !== MGMT_BASE && !pathname.startsWith(`${MGMT_BASE}/`)) return false;
      let contentType: string = OFFERED[0];
      let api: ManagementContext | undefined;
      try {
        const principal = await authenticate(req);
        const tenant = tenantApi(principal.tenant);
        // A user whose tenant this backend does not serve is a configuration error, not theirs.
        if (!tenant) throw springProblem(503);
        const path = pathname.slice(MGMT_BASE.length) || '/';
        // find-my-way finds nothing for a path it cannot decode: that is the client's 400, not a 404.
        if (!isDecodable(path)) throw springProblem(400);
        const found = router.find(req.method as Method, path);
        if (!found) {
          const allowed = METHODS.filter((m) => router.find(m, path));
          if (allowed.length === 0) throw springProblem(404);
          throw springProblem(405, { Allow: allowed.join(', ') });
        }
        const route = found.store as Route;
        requirePermissions(principal, permissions.get(route) ?? []);
        api = { ...tenant, user: principal.username, permissions: principal.authorities };
        // An empty Accept is no preference, like none at all.
        const chosen =
          route.method === 'DELETE'
            ? 'application/json'
            : req.headers.accept
              ? negotiate(req, OFFERED)
              : OFFERED[0];
        if (!chosen) throw springProblem(406);
        contentType = chosen;
        const request: EndpointRequest = {
          params: found.params,
          query: options.strictDocs
            ? new DeclaredQuery(route, search)
            : new URLSearchParams(search),
          base: requestBase(req, options.publicUrl),
          json: () => {
            if (options.strictDocs && !route.body) throw undocumented(route, 'a JSON body');
            return readJson(req);
          },
          raw: req,
        };
        await send(req, res, contentType, api, await route.endpoint(api, request));
      } catch (error) {
        const problem = problemOf(error);
        if (problem) write(res, pathname, contentType, problem);
        else {
          logger.error(
            { err: error, method: req.method, path: pathname },
            'management API request failed',
          );
          write(res, pathname, contentType, springProblem(500));
        }
      }
      return true;
    },
  };

  async function send(
    req: IncomingMessage,
    res: ServerResponse,
    contentType: string,
    api: ManagementContext,
    reply: Reply,
  ) {
    if ('artifact' in reply) await serveArtifact(req, res, reply.artifact, api.artifacts);
    else if (reply.body === undefined) sendEmpty(res, reply.status, reply.headers);
    else sendJson(res, reply.status, reply.body, { contentType, ...pick(reply.headers) });
  }
}

/** The one tenant of a test's or embedder's API, from the single-tenant options. */
function singleTenant(options: ManagementApiOptions): (tenant: string) => TenantApi | undefined {
  const { service, artifacts } = options;
  if (!service || !artifacts)
    throw new Error('createManagementApi: give tenantApi, or service and artifacts');
  const tenant = options.tenant ?? 'DEFAULT';
  const logger = options.logger ?? silentLogger;
  const pollingTime = formatPollingSleep(options.pollingTimeMs ?? 5 * 60_000);
  const api = createTenantApi({
    service,
    artifacts,
    tenant,
    logger,
    settings: new TenantSettings(
      // Without a store of its own, a batch of keys is not one unit: for tests and embedders.
      {
        collection: (c) => service.collection(c),
        transaction(work) {
          return work(this);
        },
      },
      { ...DEFAULT_TENANT_VALUES, pollingTime, pollingOverdueTime: pollingTime },
      logger,
    ),
    maxArtifactBytes: options.maxArtifactBytes ?? 1024 * 1024 * 1024,
    quotas: { ...DEFAULT_QUOTAS, ...options.quotas },
    rollouts:
      options.rollouts ??
      new RolloutEngine({
        service,
        logger,
        assignable: (set) => requireAssignableSet(service, set),
        compatible: (set) => compatibleTargets(service, set),
      }),
  });
  return (name) => (name.toLowerCase() === tenant.toLowerCase() ? api : undefined);
}

/** hawkBit's defaults of the tenant keys, before any flag. */
export const DEFAULT_TENANT_VALUES: TenantValues = {
  'authentication.targettoken.enabled': false,
  'authentication.gatewaytoken.enabled': false,
  'authentication.gatewaytoken.key': '',
  pollingTime: '00:05:00',
  pollingOverdueTime: '00:05:00',
  'rollout.approval.enabled': false,
  'user.confirmation.flow.enabled': false,
};

/** One tenant's API: its polling figures follow its configuration as it changes. */
export function createTenantApi(
  parts: Omit<TenantApi, 'pollingTimeMs' | 'pollingOverdueTimeMs'>,
): TenantApi {
  return {
    ...parts,
    get pollingTimeMs() {
      return parsePollingSleep(parts.settings.get('pollingTime'));
    },
    get pollingOverdueTimeMs() {
      return parsePollingSleep(parts.settings.get('pollingOverdueTime'));
    },
  };
}

function undocumented(route: Route, what: string): Problem {
  // A programming error only strict tests see: plain text in the body makes the failure legible.
  return new Problem(500, {
    message: `${route.method} ${route.path} reads ${what} its route does not declare`,
  });
}

/** Query parameters that only answer for the names the route declares (see `strictDocs`). */
class DeclaredQuery extends URLSearchParams {
  readonly #route: Route;
  constructor(route: Route, search: string) {
    super(search);
    this.#route = route;
  }
  #check(name: string) {
    if (!(this.#route.query as readonly string[] | undefined)?.includes(name))
      throw undocumented(this.#route, `the query parameter "${name}"`);
  }
  override get(name: string) {
    this.#check(name);
    return super.get(name);
  }
  override getAll(name: string) {
    this.#check(name);
    return super.getAll(name);
  }
  override has(name: string) {
    this.#check(name);
    return super.has(name);
  }
}

/**
 * Path and query of the request target as sent. WHATWG URL parsing would resolve `.` and `..`
 * segments (also spelled `%2E`), so `/targets/.` would name the target list.
 */
function splitTarget(raw: string | undefined): { pathname: string; search: string } {
  let target = raw || '/';
  // The absolute form (`GET http://host/path`) that proxies send.
  const origin = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  if (origin) target = target.slice(origin[0].length) || '/';
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  return q < 0
    ? { pathname: target, search: '' }
    : { pathname: target.slice(0, q), search: target.slice(q + 1) };
}

function isDecodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

function pick(headers: Record<string, string> | undefined) {
  return headers ? { headers } : {};
}

/** The JSON body: 415 for another type, 413 past the limit, hawkBit's 400 when unreadable. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  if (!isJsonContentType(req.headers['content-type'])) throw springProblem(415);
  let raw: Buffer;
  try {
    raw = await readBody(req, MAX_JSON_BYTES);
  } catch (error) {
    if (error instanceof DdiError && error.code === 'BODY_TOO_LARGE')
      throw springProblem(413, { Connection: 'close' });
    throw error;
  }
  if (raw.length === 0) throw notReadable();
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw notReadable();
  }
}
