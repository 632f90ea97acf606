import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { HttpHandler } from './http.js';

export const CONSOLE_PATH = '/ui/';

/** Where `pnpm --filter @otaflow/console build` puts the console (beside this app, from src or dist). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The console is a single page of our own: nothing from elsewhere, no framing. */
const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'Referrer-Policy': 'no-referrer',
};

const MISSING_BUILD = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>otaflow console not built</title></head>
<body><h1>The console is not built</h1>
<p>Build it with <code>pnpm --filter @otaflow/console build</code> (or <code>pnpm build</code>, or
<code>pnpm start</code>, which builds it when it is missing), then reload this page.</p>
</body></html>
`;

/**
 * The built console as static files under `/ui/`: its files as they are, with their content type;
 * any other path under `/ui/` without a file extension is one of the console's own routes and gets
 * its index.html. The files are public (the page asks for the Management API's password itself);
 * the data behind them is not. Nothing outside the build directory can be named.
 */
export function createConsoleHandler(dir = DEFAULT_CONSOLE_DIR): HttpHandler {
  const root = resolve(dir);
  return {
    async handle(req, res) {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (path === '/ui') {
        res.writeHead(308, { Location: CONSOLE_PATH }).end();
        return true;
      }
      if (!path.startsWith(CONSOLE_PATH)) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return true;
      }
      let relative: string;
      try {
        relative = decodeURIComponent(path.slice(CONSOLE_PATH.length));
      } catch {
        res.writeHead(400).end();
        return true;
      }
      const file = resolve(root, `.${sep}${relative}`);
      if (relative.includes('\0') || (file !== root && !file.startsWith(`${root}${sep}`))) {
        res.writeHead(404).end();
        return true;
      }
      if (relative !== '' && (await isFile(file))) {
        await send(req, res, file, relative.startsWith('assets/'));
        return true;
      }
      // A missing file is a 404; a missing page is a client route, which index.html renders.
      if (extname(relative) !== '') {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found\n');
        return true;
      }
      const index = join(root, 'index.html');
      if (await isFile(index)) await send(req, res, index, false);
      else
        res
          .writeHead(503, {
            'Content-Type': 'text/html; charset=utf-8',
            'Cache-Control': 'no-store',
          })
          .end(req.method === 'HEAD' ? undefined : MISSING_BUILD);
      return true;
    },
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Vite names assets by their content hash: they can be kept for good; index.html never. */
async function send(req: IncomingMessage, res: ServerResponse, file: string, hashed: boolean) {
  const { size } = await stat(file);
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': size,
    'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await pipeline(createReadStream(file), res);
}
