import http from 'node:http';
import https from 'node:https';

export interface TlsClientOptions {
  /** CA certificate(s) to trust, PEM (e.g. a self-signed test certificate). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate and key for mutual TLS, PEM. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface HttpRequestOptions {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  tls?: TlsClientOptions | undefined;
  agent?: http.Agent | undefined;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One request over node:http(s). Used instead of global fetch because Node 20's fetch cannot be
 * given a CA or a client certificate without undici, and the platform speaks HTTPS with both.
 * Rejects on network errors and on `timeoutMs` without a complete answer.
 */
export function httpRequest(
  target: string | URL,
  options: HttpRequestOptions,
): Promise<HttpResponse> {
  const url = typeof target === 'string' ? new URL(target) : target;
  const secure = url.protocol === 'https:';
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined)
    headers['content-length'] = String(Buffer.byteLength(options.body));
  if (url.username && !headers.authorization) {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  const requestOptions: https.RequestOptions = {
    method: options.method,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || (secure ? 443 : 80),
    path: `${url.pathname}${url.search}`,
    headers,
  };
  if (options.agent) requestOptions.agent = options.agent;
  if (secure && options.tls) {
    if (options.tls.ca) requestOptions.ca = options.tls.ca;
    if (options.tls.cert) requestOptions.cert = options.tls.cert;
    if (options.tls.key) requestOptions.key = options.tls.key;
  }
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(requestOptions, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    function fail(error: Error) {
      clearTimeout(timer);
      reject(error);
    }
    req.on('error', fail);
    req.end(options.body);
  });
}
