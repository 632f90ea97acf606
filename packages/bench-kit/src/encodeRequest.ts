/**
 * One HTTP/1.1 request as the bytes a load client writes: request line, `host`, the given headers,
 * and `content-length` when there is a body. Encoded before a drive's clock starts.
 */
export function encodeRequest(
  method: string,
  url: URL,
  path: string,
  headers: Readonly<Record<string, string>> = {},
  body?: string | Buffer,
): Buffer {
  const payload = body === undefined ? undefined : Buffer.from(body);
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  if (payload !== undefined) head += `content-length: ${payload.length}\r\n`;
  head += '\r\n';
  return payload === undefined
    ? Buffer.from(head, 'latin1')
    : Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}
