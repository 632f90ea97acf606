import type { IncomingMessage } from 'node:http';
import Negotiator from 'negotiator';

/**
 * The offered media type the client prefers, honouring q-values (`negotiator`); no Accept header
 * means the first offered; undefined means none is acceptable (answer 406).
 */
export function negotiate(req: IncomingMessage, offered: readonly string[]): string | undefined {
  const accept = req.headers.accept;
  // What clients send nearly always; negotiator gives the same answers, at a parse per request.
  if (accept === undefined || accept === '*/*') return offered[0];
  if (offered.includes(accept)) return accept;
  return new Negotiator(req).mediaType(offered);
}
