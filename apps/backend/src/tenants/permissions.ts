import { z } from 'zod';

/** hawkBit's permissions (`SpPermission`), each a Management API user's authority. */
export const Permission = z.enum([
  'READ_TARGET',
  'UPDATE_TARGET',
  'CREATE_TARGET',
  'DELETE_TARGET',
  'READ_REPOSITORY',
  'UPDATE_REPOSITORY',
  'CREATE_REPOSITORY',
  'DELETE_REPOSITORY',
  'DOWNLOAD_REPOSITORY_ARTIFACT',
  'READ_ROLLOUT',
  'CREATE_ROLLOUT',
  'UPDATE_ROLLOUT',
  'DELETE_ROLLOUT',
  'HANDLE_ROLLOUT',
  'APPROVE_ROLLOUT',
  'TENANT_CONFIGURATION',
  'SYSTEM_ADMIN',
]);
export type Permission = z.infer<typeof Permission>;

/**
 * hawkBit's roles: `TENANT_ADMIN` holds every permission of its tenant, `SYSTEM_ADMIN` none
 * beyond its own (it is about the system, not a tenant's data).
 */
export const Role = z.enum(['TENANT_ADMIN']);
export type Role = z.infer<typeof Role>;

/** A user's grants as written in the users file: roles and single permissions alike. */
export const Authority = z.union([Role, Permission]);
export type Authority = z.infer<typeof Authority>;

const TENANT_PERMISSIONS: readonly Permission[] = Permission.options.filter(
  (p) => p !== 'SYSTEM_ADMIN',
);

/** Every permission the authorities grant. */
export function expandAuthorities(authorities: readonly Authority[]): Set<Permission> {
  const granted = new Set<Permission>();
  for (const authority of authorities) {
    if (authority === 'TENANT_ADMIN') for (const p of TENANT_PERMISSIONS) granted.add(p);
    else granted.add(authority);
  }
  return granted;
}

type Area = 'TARGET' | 'REPOSITORY' | 'ROLLOUT';

/** Which permission family a path's first segment belongs to, as hawkBit's resources check. */
const AREAS: Readonly<Record<string, Area | 'TENANT_CONFIGURATION' | 'NONE'>> = {
  targets: 'TARGET',
  targettags: 'TARGET',
  targettypes: 'TARGET',
  targetfilters: 'TARGET',
  targetgroups: 'TARGET',
  actions: 'TARGET',
  softwaremodules: 'REPOSITORY',
  softwaremoduletypes: 'REPOSITORY',
  distributionsets: 'REPOSITORY',
  distributionsettags: 'REPOSITORY',
  distributionsettypes: 'REPOSITORY',
  rollouts: 'ROLLOUT',
  system: 'TENANT_CONFIGURATION',
  userinfo: 'NONE',
};

/** Sub-resources that join a set and a target: both families are read, the target changed. */
const ASSIGNMENTS = new Set(['assignedDS', 'installedDS', 'assignedTargets', 'installedTargets']);
const ROLLOUT_HANDLING = new Set(['start', 'pause', 'resume', 'triggerNextGroup', 'stop']);
const ROLLOUT_APPROVAL = new Set(['approve', 'deny']);

/**
 * The permissions a Management route needs, from its method and find-my-way path: the rules
 * hawkBit's `@PreAuthorize` annotations follow. Reads need READ_*; creating a top-level resource
 * CREATE_*; deleting one (or actions, artifacts) DELETE_*; any other change, sub-resources
 * included (metadata, tags, types), UPDATE_*. Assignments of sets to targets need the set read
 * and the target updated; rollout handling and approval have their own permissions. An unknown
 * first segment throws, so a new resource cannot go unchecked.
 */
export function routePermissions(method: string, path: string): Permission[] {
  const segments = path.split('/').filter((s) => s !== '');
  const first = segments[0] ?? '';
  const area = AREAS[first];
  if (area === undefined) throw new Error(`no permission rule for ${method} ${path}`);
  if (area === 'NONE') return [];
  if (area === 'TENANT_CONFIGURATION') return ['TENANT_CONFIGURATION'];
  const statics = segments.filter((s) => !s.startsWith(':'));
  const last = statics[statics.length - 1] ?? first;
  if (method === 'GET') {
    if (last === 'download') return ['DOWNLOAD_REPOSITORY_ARTIFACT'];
    if (statics.some((s) => ASSIGNMENTS.has(s) || s === 'autoAssignDS'))
      return ['READ_TARGET', 'READ_REPOSITORY'];
    return [`READ_${area}`];
  }
  // Groups are a field of targets: putting targets in or out of one changes them.
  if (first === 'targetgroups') return ['UPDATE_TARGET'];
  if (area === 'ROLLOUT' && method === 'POST') {
    if (ROLLOUT_HANDLING.has(last)) return ['HANDLE_ROLLOUT'];
    if (ROLLOUT_APPROVAL.has(last)) return ['APPROVE_ROLLOUT'];
    if (segments.length === 1 || last === 'retry') return ['CREATE_ROLLOUT', 'READ_TARGET'];
  }
  if (method === 'POST' && (ASSIGNMENTS.has(last) || last === 'autoAssignDS'))
    return ['UPDATE_TARGET', 'READ_REPOSITORY'];
  if (method === 'POST' && segments.length === 1) return [`CREATE_${area}`];
  if (method === 'POST' && last === 'artifacts') return ['CREATE_REPOSITORY'];
  if (method === 'DELETE') {
    const lastSegment = segments[segments.length - 1] ?? '';
    const deletesOne = segments.length === 2 && lastSegment.startsWith(':');
    // `DELETE /actions` and `/targets/{id}/actions` delete actions; `.../actions/{id}` cancels one.
    const deletesActions =
      lastSegment === 'actions' || (first === 'actions' && segments.length <= 2);
    const deletesArtifact =
      statics[statics.length - 1] === 'artifacts' && lastSegment !== 'artifacts';
    if (deletesOne || deletesActions || deletesArtifact || segments.length === 1)
      return [`DELETE_${area}`];
  }
  return [`UPDATE_${area}`];
}
