import { HAWKBIT_ENDPOINTS, type HawkbitEndpoint } from './hawkbitEndpoints.js';
import type { Route } from './ManagementContext.js';
import { hawkbitEndpointOf, pathShape } from './openApiDocument.js';

/**
 * hawkBit resources whose endpoints come with later work, and why; everything else of hawkBit
 * 1.1.0 must be routed. An entry leaves this list in the change that routes its endpoints.
 */
export const PENDING_RESOURCES: Readonly<Record<string, string>> = {};

export interface RouteCoverage {
  /** hawkBit 1.1.0's endpoints (the release; newer ones are not counted). */
  release: readonly HawkbitEndpoint[];
  routed: readonly HawkbitEndpoint[];
  /** Neither routed nor pending: each one is a defect. */
  missing: readonly HawkbitEndpoint[];
  /** Not routed because their resource is pending. */
  pending: readonly HawkbitEndpoint[];
  /** Routes hawkBit has no endpoint for (allowed only with a `summary` of their own). */
  extra: readonly Route[];
}

/** The route table against hawkBit's list. */
export function routeCoverage(routes: readonly Route[]): RouteCoverage {
  const routedKeys = new Set(routes.map((r) => `${r.method} ${pathShape(r.path)}`));
  const release = HAWKBIT_ENDPOINTS.filter((e) => e.since !== 'head');
  const isRouted = (e: HawkbitEndpoint) => routedKeys.has(`${e.method} ${pathShape(e.path)}`);
  return {
    release,
    routed: release.filter(isRouted),
    missing: release.filter((e) => !isRouted(e) && !(e.resource in PENDING_RESOURCES)),
    pending: release.filter((e) => !isRouted(e) && e.resource in PENDING_RESOURCES),
    extra: routes.filter((r) => !hawkbitEndpointOf(r)),
  };
}
