import { z } from 'zod';
import { HAWKBIT_ENDPOINTS, type HawkbitEndpoint } from './hawkbitEndpoints.js';
import type { Route } from './ManagementContext.js';
import { MGMT_BASE } from './representations.js';

/** A route's path with its parameters blanked: `/targets/{}/metadata/{}`, for matching. */
export function pathShape(path: string): string {
  return path.replace(/:[A-Za-z0-9_]+/g, '{}').replace(/\{[^}]+\}/g, '{}');
}

/** hawkBit's entry for a route: same method, same path shape. */
export function hawkbitEndpointOf(
  route: Pick<Route, 'method' | 'path'>,
): HawkbitEndpoint | undefined {
  const shape = pathShape(route.path);
  return HAWKBIT_ENDPOINTS.find((e) => e.method === route.method && pathShape(e.path) === shape);
}

/** hawkBit's error body (`ExceptionInfo`), as every refusal with a body carries it. */
const ErrorBody = z.object({
  errorCode: z.string(),
  exceptionClass: z.string(),
  message: z.string(),
  parameters: z.array(z.string()).optional(),
});

/** The query parameters a route reads, documented once each. */
export const QUERY_PARAMETERS = {
  q: { schema: z.string(), description: 'RSQL filter (hawkBit FIQL syntax), e.g. `name==ecu*`' },
  sort: { schema: z.string(), description: 'Sort by `field:ASC|DESC`, comma-separated' },
  offset: { schema: z.number().int().min(0), description: 'Index of the first item (default 0)' },
  limit: { schema: z.number().int().min(1), description: 'Largest page (default 50, at most 500)' },
  representation: { schema: z.enum(['compact', 'full']), description: 'Detail of each item' },
  force: { schema: z.boolean(), description: 'Force-quit instead of cancel' },
  remark: { schema: z.string(), description: 'Why the rollout was approved or denied' },
  keepLast: { schema: z.number().int().min(0), description: 'Newest actions to keep' },
  group: { schema: z.string(), description: 'A target group, `/` between its levels' },
  subgroups: { schema: z.boolean(), description: 'Include the targets of sub-groups' },
  filename: { schema: z.string(), description: "The artifact's file name (else the part's)" },
  md5sum: { schema: z.string(), description: 'Expected MD5, checked after the upload' },
  sha1sum: { schema: z.string(), description: 'Expected SHA-1, checked after the upload' },
  sha256sum: { schema: z.string(), description: 'Expected SHA-256, checked after the upload' },
} as const;
export type QueryParameter = keyof typeof QUERY_PARAMETERS;

/** What every paged list reads. */
export const LIST_QUERY: readonly QueryParameter[] = ['offset', 'limit', 'sort', 'q'];

/** The JSON Schema of a zod schema as a client must send it (before defaults and transforms). */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  });
  return rest;
}

/** Path parameters hawkBit types as numbers: every `...Id` but the controller id. */
function isNumericParameter(name: string): boolean {
  return name.endsWith('Id') && name !== 'targetId' && name !== 'controllerId';
}

/** The route's path in the document: hawkBit's parameter names where hawkBit has the endpoint. */
function documentedPath(route: Route, hawkbit: HawkbitEndpoint | undefined): string {
  return hawkbit?.path ?? route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((part) => part.replace(/[{}]/g, '').replace(/^./, (c) => c.toUpperCase()));
  return `${method.toLowerCase()}${words.join('')}`;
}

function errorResponse(description: string) {
  return {
    description,
    content: { 'application/json': { schema: jsonSchema(ErrorBody) } },
  };
}

export interface OpenApiOptions {
  /** The backend's version, the document's `info.version`. */
  version: string;
}

/**
 * The OpenAPI 3.1 document of the Management API, generated from the route table: paths,
 * summaries and tags from hawkBit's list, request bodies from the zod schemas the endpoints
 * validate with, query parameters from what each route declares. Nothing here is written per
 * endpoint, so the document cannot drift from the routes.
 */
export function openApiDocument(routes: readonly Route[], options: OpenApiOptions) {
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  for (const route of routes) {
    const hawkbit = hawkbitEndpointOf(route);
    const path = documentedPath(route, hawkbit);
    const tag = hawkbit?.resource ?? 'otaflow';
    tags.add(tag);
    const parameters: unknown[] = [];
    for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
      const numeric = isNumericParameter(name ?? '');
      parameters.push({
        name,
        in: 'path',
        required: true,
        schema: numeric ? { type: 'integer', format: 'int64' } : { type: 'string' },
      });
    }
    for (const name of route.query ?? []) {
      const parameter = QUERY_PARAMETERS[name];
      parameters.push({
        name,
        in: 'query',
        required: false,
        description: parameter.description,
        schema: jsonSchema(parameter.schema),
      });
    }
    const operation: Record<string, unknown> = {
      operationId: operationId(route.method, path),
      summary: hawkbit?.summary ?? route.summary ?? `${route.method} ${path}`,
      tags: [tag],
      parameters,
      responses: {
        '2XX': { description: "Success: hawkBit's JSON for the resource (HAL `_links`)" },
        '400': errorResponse('Bad request: a constraint or a malformed body'),
        '401': { description: 'Missing or wrong Basic credentials' },
        '404': errorResponse('No such entity'),
        ...(route.method === 'GET' ? { '406': { description: 'Not acceptable' } } : {}),
        ...(route.body
          ? {
              '409': errorResponse('Conflict: the entity exists already or changed meanwhile'),
              '415': { description: 'Unsupported media type: send application/json' },
            }
          : {}),
      },
    };
    if (route.body) {
      const item = jsonSchema(route.body.schema);
      operation.requestBody = {
        required: true,
        content: {
          'application/json': { schema: route.body.array ? { type: 'array', items: item } : item },
        },
      };
    }
    const key = `${MGMT_BASE}${path}`;
    paths[key] = { ...paths[key], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'otaflow Management API',
      version: options.version,
      description:
        "hawkBit's Management API v1 as otaflow serves it: hawkBit's paths, JSON and status codes.",
    },
    servers: [{ url: '/' }],
    security: [{ basicAuth: [] }],
    tags: [...tags].sort().map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { basicAuth: { type: 'http', scheme: 'basic' } },
    },
  };
}
