import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Permission } from '../tenants/permissions.js';
import { singleUser, type User } from '../tenants/users.js';
import { AuthThrottle } from './AuthThrottle.js';
import { hawkbitProblem, type Problem, springProblem } from './Problem.js';

export interface BasicAuthOptions {
  /** The users that may log in; or one `user`/`password` (TENANT_ADMIN of `tenant`). */
  users?: readonly User[];
  user?: string;
  password?: string;
  tenant?: string;
  /** Wrong passwords a client address may send before it must wait (default 10; 0: no limit). */
  authMaxFailures?: number;
  /** Time in which that allowance grows back (default 60 s). */
  authWindowMs?: number;
}

/** Who a Management request is made by: the user, the tenant it sees and what it may do. */
export interface Principal {
  username: string;
  tenant: string;
  authorities: readonly string[];
  permissions: ReadonlySet<Permission>;
}

/**
 * Resolves the request's user; rejects with a `Problem`: 401 for wrong or missing credentials,
 * 429 while the client must wait.
 */
export type BasicAuth = (req: IncomingMessage) => Promise<Principal>;

/** Logins checked recently, so a client's every request does not pay for a password hash. */
const CACHE_ENTRIES = 1024;
const CACHE_MS = 5 * 60_000;

/**
 * The Management API's Basic auth, shared by every surface that answers to the same users (the
 * API, the event stream, downloads), so that one throttle counts a client's wrong passwords on
 * all of them.
 */
export function createBasicAuth(options: BasicAuthOptions): BasicAuth {
  const users = new Map<string, User>();
  for (const user of options.users ?? [
    singleUser(options.user ?? 'admin', options.password ?? 'admin', options.tenant ?? 'DEFAULT'),
  ])
    users.set(user.username, user);
  const throttle = new AuthThrottle({
    maxFailures: options.authMaxFailures ?? 10,
    windowMs: options.authWindowMs ?? 60_000,
  });
  // Keyed by a digest of the whole header: the cache never holds a password.
  const verified = new Map<string, { principal: Principal; until: number }>();
  return async (req) => {
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    const key = match ? createHash('sha256').update(header).digest('base64') : undefined;
    const hit = key === undefined ? undefined : verified.get(key);
    if (hit && hit.until > Date.now()) return hit.principal;
    const text = match ? Buffer.from(match[1] ?? '', 'base64').toString('utf8') : undefined;
    const colon = text?.indexOf(':') ?? -1;
    const username = text !== undefined && colon >= 0 ? text.slice(0, colon) : undefined;
    const address = req.socket.remoteAddress ?? '';
    const wait = throttle.waitSeconds(address, username);
    if (wait !== undefined) throw tooManyFailures(wait);
    const user = username === undefined ? undefined : users.get(username);
    if (
      user &&
      text !== undefined &&
      key !== undefined &&
      (await user.verify(text.slice(colon + 1)))
    ) {
      const principal: Principal = {
        username: user.username,
        tenant: user.tenant,
        authorities: user.authorities,
        permissions: user.permissions,
      };
      if (verified.size >= CACHE_ENTRIES) verified.delete(verified.keys().next().value as string);
      verified.set(key, { principal, until: Date.now() + CACHE_MS });
      return principal;
    }
    // No credentials at all is how every client starts (a browser's first request): not a failure.
    if (match) throttle.failed(address, username);
    // Spring Security leaves the challenge out for scripts (X-Requested-With), so that a page
    // with its own login form gets no browser password dialog.
    const script = req.headers['x-requested-with']?.toString().toLowerCase() === 'xmlhttprequest';
    throw springProblem(401, script ? {} : { 'WWW-Authenticate': 'Basic realm="hawkBit"' });
  };
}

/** 403 in hawkBit's form when the principal lacks any of `needed`. */
export function requirePermissions(principal: Principal, needed: readonly Permission[]): void {
  const missing = needed.filter((p) => !principal.permissions.has(p));
  if (missing.length > 0)
    throw hawkbitProblem(
      403,
      'insufficientPermission',
      `Insufficient Permission: ${missing.join(', ')} required`,
    );
}

/** hawkBit has no login throttle; the answer is Spring's, like the 401 it stands in for. */
function tooManyFailures(seconds: number): Problem {
  return springProblem(429, { 'Retry-After': String(seconds) });
}
