import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger, UpdateService } from '@otaflow/core';
import type { ServedArtifact } from '@otaflow/ddi-http';
import type { z } from 'zod';
import type { ArtifactStore } from '../ArtifactStore.js';
import type { RolloutEngine } from '../rollouts/RolloutEngine.js';
import type { Permission } from '../tenants/permissions.js';
import type { TenantSettings } from '../tenants/TenantSettings.js';
import type { QueryParameter } from './openApiDocument.js';
import type { ManagementQuotas } from './quotas.js';

/** What every endpoint of the Management API works over: its tenant's, and the request's user. */
export interface ManagementContext extends TenantApi {
  /** The user making the request: `createdBy` and `lastModifiedBy` of what it changes. */
  user: string;
  /** The user's roles and permissions, as `/userinfo` tells them (TENANT_ADMIN when unset). */
  permissions?: readonly string[];
}

/** One tenant's part of the Management API, built once per tenant. */
export interface TenantApi {
  service: UpdateService;
  artifacts: ArtifactStore;
  tenant: string;
  /** The tenant's configuration (`/system/configs`): polling time, confirmation flow, tokens. */
  settings: TenantSettings;
  /** Polling interval the DDI side announces, for `pollStatus` (the tenant's `pollingTime`). */
  readonly pollingTimeMs: number;
  /** How long past its next poll a target is overdue (the tenant's `pollingOverdueTime`). */
  readonly pollingOverdueTimeMs: number;
  /** Largest artifact upload; above it the answer is 429. */
  maxArtifactBytes: number;
  logger: Logger;
  /** hawkBit's quotas; hawkBit's values when unset. */
  quotas?: ManagementQuotas;
  /** Rollouts: creation, the operations of their machine, evaluation. */
  rollouts: RolloutEngine;
}

/** One request as an endpoint sees it: a test builds one by hand, the router from node:http. */
export interface EndpointRequest {
  /** Path parameters, already percent-decoded. */
  params: Readonly<Record<string, string | undefined>>;
  query: URLSearchParams;
  /** `http(s)://host:port` for absolute `_links`. */
  base: string;
  /**
   * The JSON body, read when the endpoint asks (so a 404 on the path can come before a 400 on
   * the body, as in hawkBit); rejects with the 415/413/400 problem.
   */
  json(): Promise<unknown>;
  /** The raw body with its headers, for the one streaming endpoint (artifact upload). */
  raw: Readable & { headers: IncomingHttpHeaders };
}

/** What an endpoint answers; the router writes it. Errors are thrown as `Problem`s. */
export type Reply =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { status: 200; artifact: ServedArtifact };

export type Endpoint = (api: ManagementContext, request: EndpointRequest) => Promise<Reply>;

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One route of a resource module: a path relative to `/rest/v1`, in find-my-way's syntax. */
export interface Route {
  method: Method;
  path: string;
  endpoint: Endpoint;
  /**
   * The zod schema the endpoint checks its JSON body with; the OpenAPI document's request body
   * is generated from it, so a route that reads a body names its schema here.
   */
  body?: RouteBody;
  /** The query parameters the endpoint reads; the document lists them. */
  query?: readonly QueryParameter[];
  /** For a route hawkBit does not have (hawkBit's own summary is used otherwise). */
  summary?: string;
  /** What a user needs for it, where `routePermissions`' rules do not say. */
  permissions?: readonly Permission[];
}

export interface RouteBody {
  schema: z.ZodType;
  /** hawkBit's creates and assignments take an array of `schema`. */
  array?: boolean;
}
