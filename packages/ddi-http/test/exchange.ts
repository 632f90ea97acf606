import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { PassThrough } from 'node:stream';

export interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/**
 * A request and response with no server or network behind them, for calling an endpoint module
 * directly: the response's bytes are collected and parsed back into status, headers and body.
 */
export function exchange(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: string,
): { req: IncomingMessage; res: ServerResponse; answer: Promise<Answer> } {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  req.url = url;
  req.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  if (body !== undefined) {
    req.headers['content-length'] ??= String(Buffer.byteLength(body));
    req.push(Buffer.from(body));
  }
  req.push(null);
  req.complete = true;
  const res = new ServerResponse(req);
  const wire = new PassThrough();
  const chunks: Buffer[] = [];
  wire.on('data', (c: Buffer) => chunks.push(c));
  res.assignSocket(wire as unknown as Socket);
  const answer = new Promise<Answer>((resolve, reject) => {
    res.on('error', reject);
    res.on('finish', () =>
      setImmediate(() => {
        const all = Buffer.concat(chunks).toString('utf8');
        const split = all.indexOf('\r\n\r\n');
        const [statusLine = '', ...lines] = all.slice(0, split).split('\r\n');
        const parsed: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        resolve({
          status: Number(statusLine.split(' ')[1]),
          headers: parsed,
          text: all.slice(split + 4),
        });
      }),
    );
  });
  return { req, res, answer };
}
