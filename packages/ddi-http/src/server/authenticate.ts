import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TargetView } from '@otaflow/core';
import type { DdiAuthOptions, DdiVia } from './DdiRequest.js';

function safeEqual(a: string, b: string | Buffer): boolean {
  const x = Buffer.from(a);
  const y = typeof b === 'string' ? Buffer.from(b) : b;
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The gateway key's bytes, kept while the configured key stays the same string. */
let gatewayKey: { text: string; bytes: Buffer } | undefined;

/**
 * How hawkBit's DDI lets a request in: a target token checked against the target's own, the
 * tenant's gateway token, or no header at all when anonymous access is on. Undefined is 401.
 */
export function authenticate(
  auth: DdiAuthOptions,
  req: IncomingMessage,
  target: TargetView | undefined,
): DdiVia | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return auth.anonymous ? 'anonymous' : undefined;
  if (auth.targetToken && header.startsWith('TargetToken ')) {
    const token = header.slice('TargetToken '.length);
    return target && safeEqual(token, target.securityToken) ? 'target' : undefined;
  }
  const gateway = auth.gatewayToken;
  if (gateway && header.startsWith('GatewayToken ')) {
    if (gatewayKey?.text !== gateway) gatewayKey = { text: gateway, bytes: Buffer.from(gateway) };
    return safeEqual(header.slice('GatewayToken '.length), gatewayKey.bytes)
      ? 'gateway'
      : undefined;
  }
  return undefined;
}
