import { describe, expect, it } from 'vitest';
import { MANAGEMENT_ROUTES } from '../../src/management/routes.js';
import { expandAuthorities, routePermissions } from '../../src/tenants/permissions.js';

const need = (method: string, path: string) => routePermissions(method, path).sort();

describe('permissions of the Management routes', () => {
  it('has a rule for every route, and every route but /userinfo needs something', () => {
    for (const route of MANAGEMENT_ROUTES) {
      const needed = route.permissions ?? routePermissions(route.method, route.path);
      if (route.path === '/userinfo') expect(needed).toEqual([]);
      else expect(needed.length, `${route.method} ${route.path}`).toBeGreaterThan(0);
      // A read never needs a change permission.
      if (route.method === 'GET')
        for (const p of needed)
          expect(p, `${route.method} ${route.path}`).toMatch(/^(READ_|DOWNLOAD_|TENANT_)/);
    }
  });

  it("follows hawkBit's rules", () => {
    expect(need('GET', '/targets')).toEqual(['READ_TARGET']);
    expect(need('POST', '/targets')).toEqual(['CREATE_TARGET']);
    expect(need('PUT', '/targets/:id')).toEqual(['UPDATE_TARGET']);
    expect(need('DELETE', '/targets/:id')).toEqual(['DELETE_TARGET']);
    expect(need('POST', '/targets/:id/metadata')).toEqual(['UPDATE_TARGET']);
    expect(need('DELETE', '/targets/:id/metadata/:key')).toEqual(['UPDATE_TARGET']);
    expect(need('DELETE', '/targets/:id/actions/:actionId')).toEqual(['UPDATE_TARGET']);
    expect(need('DELETE', '/targets/:id/actions')).toEqual(['DELETE_TARGET']);
    expect(need('DELETE', '/actions')).toEqual(['DELETE_TARGET']);
    expect(need('POST', '/targets/:id/assignedDS')).toEqual(['READ_REPOSITORY', 'UPDATE_TARGET']);
    expect(need('POST', '/distributionsets/:id/assignedTargets')).toEqual([
      'READ_REPOSITORY',
      'UPDATE_TARGET',
    ]);
    expect(need('GET', '/distributionsets/:id/assignedTargets')).toEqual([
      'READ_REPOSITORY',
      'READ_TARGET',
    ]);
    expect(need('POST', '/softwaremodules/:id/artifacts')).toEqual(['CREATE_REPOSITORY']);
    expect(need('DELETE', '/softwaremodules/:id/artifacts/:artifactId')).toEqual([
      'DELETE_REPOSITORY',
    ]);
    expect(need('GET', '/softwaremodules/:id/artifacts/:artifactId/download')).toEqual([
      'DOWNLOAD_REPOSITORY_ARTIFACT',
    ]);
    expect(need('POST', '/rollouts')).toEqual(['CREATE_ROLLOUT', 'READ_TARGET']);
    expect(need('POST', '/rollouts/:rolloutId/start')).toEqual(['HANDLE_ROLLOUT']);
    expect(need('POST', '/rollouts/:rolloutId/approve')).toEqual(['APPROVE_ROLLOUT']);
    expect(need('DELETE', '/rollouts/:rolloutId')).toEqual(['DELETE_ROLLOUT']);
    expect(need('PUT', '/system/configs/:keyName')).toEqual(['TENANT_CONFIGURATION']);
    expect(need('POST', '/targetgroups')).toEqual(['UPDATE_TARGET']);
    expect(() => routePermissions('GET', '/nothing')).toThrow(/no permission rule/);
  });

  it('TENANT_ADMIN grants every permission of the tenant but SYSTEM_ADMIN', () => {
    const all = expandAuthorities(['TENANT_ADMIN']);
    expect(all.has('APPROVE_ROLLOUT')).toBe(true);
    expect(all.has('TENANT_CONFIGURATION')).toBe(true);
    expect(all.has('SYSTEM_ADMIN')).toBe(false);
    expect([...expandAuthorities(['READ_TARGET'])]).toEqual(['READ_TARGET']);
  });
});
