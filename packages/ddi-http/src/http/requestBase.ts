import type { IncomingMessage } from 'node:http';

/**
 * `http(s)://host:port` of the request, for absolute links; a configured public base wins
 * (trailing slashes dropped).
 */
export function requestBase(req: IncomingMessage, configured?: string): string {
  if (configured) return configured.replace(/\/+$/, '');
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const host =
    req.headers.host ?? `${req.socket.localAddress ?? '127.0.0.1'}:${req.socket.localPort ?? 80}`;
  return `${encrypted ? 'https' : 'http'}://${host}`;
}
