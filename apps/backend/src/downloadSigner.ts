import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The query parameters of a signed download link. */
export const EXPIRES_PARAM = 'expires';
export const SIGNATURE_PARAM = 'signature';

export interface DownloadSignerOptions {
  /** The HMAC key; several backends behind one load balancer must share it. Random when absent. */
  secret?: string;
  /** How long a link stays valid, in seconds. */
  ttlSeconds: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

/** Why a link was refused, or that it is good. */
export type SignatureCheck = 'valid' | 'expired' | 'invalid';

export interface DownloadSigner {
  /** `expires=…&signature=…` for one file, valid from now for the configured time. */
  sign(moduleId: number, filename: string): URLSearchParams;
  /** Checks the parameters of a link in constant time; expiry is checked after the signature. */
  verify(
    moduleId: number,
    filename: string,
    expires: string | null,
    signature: string | null,
  ): SignatureCheck;
}

const EXPIRES = /^\d{1,12}$/;

/**
 * Signed, expiring links for devices that cannot send an Authorization header (MQTT `install`
 * commands, SIE `urls`): HMAC-SHA256 over module id, expiry (epoch seconds) and file name, the
 * file name last so that no choice of name can make two different triples sign alike.
 */
export function createDownloadSigner(options: DownloadSignerOptions): DownloadSigner {
  const key = options.secret === undefined ? randomBytes(32) : Buffer.from(options.secret);
  const now = options.now ?? Date.now;
  const mac = (moduleId: number, filename: string, expires: string) =>
    createHmac('sha256', key).update(`${moduleId}\n${expires}\n${filename}`).digest();

  return {
    sign(moduleId, filename) {
      const expires = String(Math.floor(now() / 1000) + options.ttlSeconds);
      return new URLSearchParams({
        [EXPIRES_PARAM]: expires,
        [SIGNATURE_PARAM]: mac(moduleId, filename, expires).toString('base64url'),
      });
    },
    verify(moduleId, filename, expires, signature) {
      if (expires === null || signature === null || !EXPIRES.test(expires)) return 'invalid';
      // Compared as text, so that only the one canonical spelling of the MAC passes; its length
      // is public, so only equal lengths reach the constant-time compare.
      const given = Buffer.from(signature);
      const expected = Buffer.from(mac(moduleId, filename, expires).toString('base64url'));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
      return Number(expires) * 1000 <= now() ? 'expired' : 'valid';
    },
  };
}
