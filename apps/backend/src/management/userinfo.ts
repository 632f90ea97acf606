import type { ManagementContext, Reply, Route } from './ManagementContext.js';

/** `GET /userinfo`: the probe clients use to check their credentials. */
export async function getUserinfo(api: ManagementContext): Promise<Reply> {
  return {
    status: 200,
    body: {
      tenant: api.tenant,
      username: api.user,
      permissions: api.permissions ?? ['TENANT_ADMIN'],
    },
  };
}

export const userinfoRoutes: Route[] = [
  { method: 'GET', path: '/userinfo', endpoint: getUserinfo },
];
