import { actionOperationRoutes } from './actionOperations.js';
import { actionRoutes } from './actions.js';
import { artifactRoutes } from './artifacts.js';
import { distributionSetOperationRoutes } from './distributionSetOperations.js';
import { distributionSetRoutes } from './distributionSets.js';
import type { Route } from './ManagementContext.js';
import { metadataRouteList } from './metadata.js';
import { rolloutRoutes } from './rollouts.js';
import { softwareModuleRoutes } from './softwareModules.js';
import { systemConfigRoutes } from './systemConfigs.js';
import { tagRoutes } from './tags.js';
import { targetFilterRoutes } from './targetFilters.js';
import { targetGroupRoutes } from './targetGroups.js';
import { targetRoutes } from './targets.js';
import { typeRouteList } from './types.js';
import { userinfoRoutes } from './userinfo.js';

/** Every resource module's routes; a new resource is one more module and one more line here. */
export const MANAGEMENT_ROUTES: readonly Route[] = [
  ...userinfoRoutes,
  ...targetRoutes,
  ...actionRoutes,
  ...actionOperationRoutes,
  ...typeRouteList,
  ...softwareModuleRoutes,
  ...artifactRoutes,
  ...distributionSetRoutes,
  ...distributionSetOperationRoutes,
  ...metadataRouteList,
  ...tagRoutes,
  ...rolloutRoutes,
  ...targetFilterRoutes,
  ...targetGroupRoutes,
  ...systemConfigRoutes,
];
