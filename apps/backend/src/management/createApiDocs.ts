import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { sendEmpty, sendJson } from '@otaflow/ddi-http';
import type { HttpHandler } from '../http.js';
import type { Route } from './ManagementContext.js';
import { openApiDocument } from './openApiDocument.js';

/** Where hawkBit (springdoc) serves its document and its API browser; tools look there. */
export const API_DOCS_PATH = '/v3/api-docs';
export const API_BROWSER_PATH = '/swagger-ui/';

/** The API browser's files, from the swagger-ui-dist package: bundled, no CDN. */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>otaflow Management API</title>
<link rel="stylesheet" href="swagger-ui.css">
<link rel="icon" type="image/png" href="favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="swagger-ui-bundle.js"></script>
<script src="swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: '${API_DOCS_PATH}',
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
  validatorUrl: null,
});
</script>
</body>
</html>
`;

export interface ApiDocsOptions {
  routes: readonly Route[];
}

/**
 * The OpenAPI document at `/v3/api-docs` and a browser for it at `/swagger-ui/`, open without
 * credentials as in hawkBit: they describe the API and hold no data; "Try it out" asks for the
 * Management API's Basic credentials like any other client.
 */
export function createApiDocs(options: ApiDocsOptions): HttpHandler {
  // Built once: the routes do not change while the server runs.
  const require = createRequire(import.meta.url);
  // `../../package.json` from src/management and dist/management alike.
  const { version } = require('../../package.json') as { version: string };
  const document = JSON.stringify(openApiDocument(options.routes, { version }));
  const assetDir = join(require.resolve('swagger-ui-dist/package.json'), '..');
  const cache = new Map<string, Buffer>();
  return {
    async handle(req, res) {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const isDocs =
        path === API_DOCS_PATH || path.startsWith(API_BROWSER_PATH) || path === '/swagger-ui';
      if (!isDocs) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendEmpty(res, 405, { Allow: 'GET, HEAD' });
        return true;
      }
      if (path === API_DOCS_PATH) {
        res.writeHead(200, {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(document),
        });
        res.end(req.method === 'HEAD' ? undefined : document);
        return true;
      }
      // Without the slash the page's relative asset links would point one level up.
      if (path === '/swagger-ui') {
        sendEmpty(res, 301, { Location: API_BROWSER_PATH });
        return true;
      }
      const name = path.slice(API_BROWSER_PATH.length);
      if (name === '' || name === 'index.html') {
        res.writeHead(200, {
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Length': Buffer.byteLength(PAGE),
        });
        res.end(req.method === 'HEAD' ? undefined : PAGE);
        return true;
      }
      const type = ASSETS[name];
      if (!type) {
        sendJson(res, 404, { status: 404, error: 'Not Found', path });
        return true;
      }
      let bytes = cache.get(name);
      if (!bytes) {
        bytes = await readFile(join(assetDir, name));
        cache.set(name, bytes);
      }
      res.writeHead(200, {
        'Content-Type': type,
        'Content-Length': bytes.length,
        'Cache-Control': 'public, max-age=3600',
      });
      res.end(req.method === 'HEAD' ? undefined : bytes);
      return true;
    },
  };
}
