import {
  MAX_ARTIFACTS_PER_SOFTWARE_MODULE,
  MAX_SOFTWARE_MODULES_PER_DISTRIBUTION_SET,
  MAX_TARGETS_PER_MANUAL_ASSIGNMENT,
} from '@otaflow/core';
import type { ManagementContext } from './ManagementContext.js';
import { hawkbitProblem, type Problem } from './Problem.js';

/**
 * hawkBit's quotas (`hawkbit.server.security.dos.*`) for what the Management API writes; the
 * attributes-per-target quota is core's own, since DDI writes attributes too.
 */
export interface ManagementQuotas {
  artifactsPerSoftwareModule: number;
  softwareModulesPerDistributionSet: number;
  /** Targets in one `POST /distributionsets/{id}/assignedTargets`. */
  targetsPerAssignment: number;
}

export const DEFAULT_QUOTAS: ManagementQuotas = {
  artifactsPerSoftwareModule: MAX_ARTIFACTS_PER_SOFTWARE_MODULE,
  softwareModulesPerDistributionSet: MAX_SOFTWARE_MODULES_PER_DISTRIBUTION_SET,
  targetsPerAssignment: MAX_TARGETS_PER_MANUAL_ASSIGNMENT,
};

export function quotasOf(api: ManagementContext): ManagementQuotas {
  return api.quotas ?? DEFAULT_QUOTAS;
}

/** hawkBit's 429 for a passed quota, in the words of its `QuotaHelper`. */
export function quotaProblem(
  what: string,
  parent: string,
  limit: number,
  headers?: Record<string, string>,
): Problem {
  return hawkbitProblem(
    429,
    'quota',
    `Quota exceeded: Cannot assign more than ${limit} ${what} to ${parent}.`,
    undefined,
    headers,
  );
}
