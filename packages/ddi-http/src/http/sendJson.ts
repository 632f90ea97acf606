import type { ServerResponse } from 'node:http';

export interface SendJsonOptions {
  /** The media type without charset (default `application/json`). */
  contentType?: string;
  headers?: Record<string, string>;
}

/** Writes `body` as JSON with `<type>;charset=UTF-8` and its Content-Length. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  options: SendJsonOptions = {},
): void {
  const text = JSON.stringify(body);
  const head = [
    'Content-Type',
    `${options.contentType ?? 'application/json'};charset=UTF-8`,
    'Content-Length',
    String(Buffer.byteLength(text)),
  ];
  if (options.headers)
    for (const [name, value] of Object.entries(options.headers)) head.push(name, value);
  res.writeHead(status, head);
  res.end(text);
}

const NO_CONTENT = ['Content-Length', '0'];

/** An answer without a body (Content-Length 0). */
export function sendEmpty(
  res: ServerResponse,
  status: number,
  headers?: Record<string, string>,
): void {
  if (headers) {
    const head = [...NO_CONTENT];
    for (const [name, value] of Object.entries(headers)) head.push(name, value);
    res.writeHead(status, head);
  } else res.writeHead(status, NO_CONTENT);
  res.end();
}
