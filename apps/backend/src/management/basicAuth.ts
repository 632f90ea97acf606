import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AuthThrottle } from './AuthThrottle.js';
import { type Problem, springProblem } from './Problem.js';

export interface BasicAuthOptions {
  user: string;
  password: string;
  /** Wrong passwords a client address may send before it must wait (default 10; 0: no limit). */
  authMaxFailures?: number;
  /** Time in which that allowance grows back (default 60 s). */
  authWindowMs?: number;
}

/** Throws a `Problem`: 401 for wrong or missing credentials, 429 while the client must wait. */
export type BasicAuth = (req: IncomingMessage) => void;

/**
 * The Management API's Basic auth, shared by every surface that answers to the same user (the
 * API and the event stream), so that one throttle counts a client's wrong passwords on both.
 */
export function createBasicAuth(options: BasicAuthOptions): BasicAuth {
  // Digests of equal length, so the comparison takes the same time whatever was sent.
  const expected = sha256(`${options.user}:${options.password}`);
  const throttle = new AuthThrottle({
    maxFailures: options.authMaxFailures ?? 10,
    windowMs: options.authWindowMs ?? 60_000,
  });
  return (req) => {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
    const given = match ? Buffer.from(match[1] ?? '', 'base64') : undefined;
    const address = req.socket.remoteAddress ?? '';
    const text = given?.toString('utf8');
    const colon = text?.indexOf(':') ?? -1;
    const user = text !== undefined && colon >= 0 ? text.slice(0, colon) : undefined;
    const wait = throttle.waitSeconds(address, user);
    if (wait !== undefined) throw tooManyFailures(wait);
    if (given && timingSafeEqual(sha256(given), expected)) return;
    // No credentials at all is how every client starts (a browser's first request): not a failure.
    if (given) throttle.failed(address, user);
    // Spring Security leaves the challenge out for scripts (X-Requested-With), so that a page
    // with its own login form gets no browser password dialog.
    const script = req.headers['x-requested-with']?.toString().toLowerCase() === 'xmlhttprequest';
    throw springProblem(401, script ? {} : { 'WWW-Authenticate': 'Basic realm="hawkBit"' });
  };
}

function sha256(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

/** hawkBit has no login throttle; the answer is Spring's, like the 401 it stands in for. */
function tooManyFailures(seconds: number): Problem {
  return springProblem(429, { 'Retry-After': String(seconds) });
}
