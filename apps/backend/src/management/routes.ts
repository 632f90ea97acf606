import { actionRoutes } from './actions.js';
import { artifactRoutes } from './artifacts.js';
import { distributionSetRoutes } from './distributionSets.js';
import type { Route } from './ManagementContext.js';
import { metadataRouteList } from './metadata.js';
import { softwareModuleRoutes } from './softwareModules.js';
import { tagRoutes } from './tags.js';
import { targetGroupRoutes } from './targetGroups.js';
import { targetRoutes } from './targets.js';
import { typeRoutes } from './types.js';
import { userinfoRoutes } from './userinfo.js';

/** Every resource module's routes; a new resource is one more module and one more line here. */
export const MANAGEMENT_ROUTES: readonly Route[] = [
  ...userinfoRoutes,
  ...targetRoutes,
  ...actionRoutes,
  ...typeRoutes,
  ...softwareModuleRoutes,
  ...artifactRoutes,
  ...distributionSetRoutes,
  ...metadataRouteList,
  ...tagRoutes,
  ...targetGroupRoutes,
];
