import { z } from 'zod';

/** Where an endpoint first appears: up to 0.9.0, from 0.10.0 (so in 1.1.0 too), or only after 1.1.0. */
export const HawkbitRelease = z.enum(['0.9', '0.10', 'head']);
export type HawkbitRelease = z.infer<typeof HawkbitRelease>;

export const HawkbitEndpoint = z.object({
  method: z.enum(['GET', 'POST', 'PUT', 'DELETE']),
  /** Under `/rest/v1`, with hawkBit's own parameter names. */
  path: z.string().startsWith('/'),
  /** hawkBit's resource group: the OpenAPI document's tag. */
  resource: z.string().min(1),
  /** hawkBit's own `@Operation` summary. */
  summary: z.string().min(1),
  since: HawkbitRelease,
});
export type HawkbitEndpoint = z.infer<typeof HawkbitEndpoint>;

/**
 * Every endpoint of hawkBit's Management API v1 at its newest source, as its `Mgmt*RestApi`
 * interfaces declare them: `METHOD path | since | summary`, under `# resource` headings. Kept as
 * data so that a new hawkBit release is a diff of this table.
 */
const TABLE = `
# Targets
GET /targets | 0.9 | Return all targets
POST /targets | 0.9 | Create target(s)
GET /targets/{targetId} | 0.9 | Return target by id
PUT /targets/{targetId} | 0.9 | Update target by id
DELETE /targets/{targetId} | 0.9 | Delete target by id
GET /targets/{targetId}/assignedDS | 0.9 | Return the assigned distribution set of a specific target
POST /targets/{targetId}/assignedDS | 0.9 | Assigns a distribution set to a specific target
GET /targets/{targetId}/attributes | 0.9 | Return attributes of a specific target
GET /targets/{targetId}/installedDS | 0.9 | Return installed distribution set of a specific target
GET /targets/{targetId}/tags | 0.9 | Return tags for specific target
POST /targets/{targetId}/targettype | 0.9 | Assign target type to a target
DELETE /targets/{targetId}/targettype | 0.9 | Unassign target type from target
# Target actions
GET /targets/{targetId}/actions | 0.9 | Return actions for a specific target
DELETE /targets/{targetId}/actions | 0.10 | Deletes all actions for the provided target EXCEPT the latest N actions OR by provided action IDs list
GET /targets/{targetId}/actions/{actionId} | 0.9 | Return action by id of a specific target
PUT /targets/{targetId}/actions/{actionId} | 0.9 | Switch an action from soft to forced
DELETE /targets/{targetId}/actions/{actionId} | 0.9 | Cancel action for a specific target
PUT /targets/{targetId}/actions/{actionId}/confirmation | 0.9 | Controls (confirm/deny) actions waiting for confirmation
GET /targets/{targetId}/actions/{actionId}/status | 0.9 | Return status of a specific action on a specific target
# Target auto-confirm
GET /targets/{targetId}/autoConfirm | 0.9 | Return the current auto-confirm state for a specific target
POST /targets/{targetId}/autoConfirm/activate | 0.9 | Activate auto-confirm on a specific target
POST /targets/{targetId}/autoConfirm/deactivate | 0.9 | Deactivate auto-confirm on a specific target
# Target metadata
GET /targets/{targetId}/metadata | 0.9 | Return metadata for specific target
POST /targets/{targetId}/metadata | 0.9 | Create a list of metadata for a specific target
GET /targets/{targetId}/metadata/{metadataKey} | 0.9 | Return single metadata value for a specific key of a target
PUT /targets/{targetId}/metadata/{metadataKey} | 0.9 | Updates a single metadata value of a target
DELETE /targets/{targetId}/metadata/{metadataKey} | 0.9 | Deletes a single metadata entry from a target
# Target types
GET /targettypes | 0.9 | Return all target types
POST /targettypes | 0.9 | Create target types
GET /targettypes/{targetTypeId} | 0.9 | Return target type by id
PUT /targettypes/{targetTypeId} | 0.9 | Update target type by id
DELETE /targettypes/{targetTypeId} | 0.9 | Delete target type by id
GET /targettypes/{targetTypeId}/compatibledistributionsettypes | 0.9 | Return list of compatible distribution set types
POST /targettypes/{targetTypeId}/compatibledistributionsettypes | 0.9 | Adding compatibility of a distribution set type to a target type
DELETE /targettypes/{targetTypeId}/compatibledistributionsettypes/{distributionSetTypeId} | 0.9 | Remove compatibility of distribution set type from the target type
# Target tags
GET /targettags | 0.9 | Return all target tags
POST /targettags | 0.9 | Create target tag(s)
GET /targettags/{targetTagId} | 0.9 | Return target tag by id
PUT /targettags/{targetTagId} | 0.9 | Update target tag by id
DELETE /targettags/{targetTagId} | 0.9 | Delete target tag by id
GET /targettags/{targetTagId}/assigned | 0.9 | Return assigned targets for tag
POST /targettags/{targetTagId}/assigned | 0.9 | Assign target(s) to given tagId
DELETE /targettags/{targetTagId}/assigned | 0.9 | Unassign targets from a given tagId
POST /targettags/{targetTagId}/assigned/{controllerId} | 0.9 | Assign target(s) to given tagId
DELETE /targettags/{targetTagId}/assigned/{controllerId} | 0.9 | Unassign target from a given tagId
# Target groups
GET /targetgroups | 0.10 | Return all assigned target groups
PUT /targetgroups | 0.10 | Assign targets matching a rsql filter to provided target group
DELETE /targetgroups | 0.10 | Unassign targets from their target groups by filter
GET /targetgroups/assigned | 0.10 | Return assigned targets for group
PUT /targetgroups/assigned | 0.10 | Assign target(s) to given group
DELETE /targetgroups/assigned | 0.10 | Unassign targets from their target groups
PUT /targetgroups/{group} | 0.10 | Assign target(s) to given group by rsql
GET /targetgroups/{group}/assigned | 0.10 | Return assigned targets for group
PUT /targetgroups/{group}/assigned | 0.10 | Assign target(s) to given group
# Target filters
GET /targetfilters | 0.9 | Return all target filter queries
POST /targetfilters | 0.9 | Create target filter
GET /targetfilters/{filterId} | 0.9 | Return target filter query by id
PUT /targetfilters/{filterId} | 0.9 | Updates target filter query by id
DELETE /targetfilters/{filterId} | 0.9 | Delete target filter by id
GET /targetfilters/{filterId}/autoAssignDS | 0.9 | Return distribution set for auto assignment of a specific target filter
POST /targetfilters/{filterId}/autoAssignDS | 0.9 | Set auto assignment of distribution set for a target filter query
DELETE /targetfilters/{filterId}/autoAssignDS | 0.9 | Remove Distribution Set for auto assignment of a target filter
# Auto assignments
GET /autoassignments | head | Return all auto assignments
POST /autoassignments | head | Create a new auto assignment
GET /autoassignments/{id} | head | Return a single auto assignment
PUT /autoassignments/{id} | head | Update an auto assignment
DELETE /autoassignments/{id} | head | Delete an auto assignment
POST /autoassignments/{id}/approve | head | Approve an auto assignment
POST /autoassignments/{id}/deny | head | Deny an auto assignment
POST /autoassignments/{id}/pause | head | Pause an auto assignment
POST /autoassignments/{id}/resume | head | Resume an auto assignment
POST /autoassignments/{id}/start | head | Start an auto assignment
# Actions
GET /actions | 0.9 | Return all actions
DELETE /actions | 0.10 | Delete multiple actions by list OR rsql filter
GET /actions/{actionId} | 0.9 | Return action by id
DELETE /actions/{actionId} | 0.10 | Delete a single action by id
# Distribution sets
GET /distributionsets | 0.9 | Return all Distribution Sets
POST /distributionsets | 0.9 | Creates new Distribution Sets
GET /distributionsets/{distributionSetId} | 0.9 | Return single Distribution Set
PUT /distributionsets/{distributionSetId} | 0.9 | Update Distribution Set
DELETE /distributionsets/{distributionSetId} | 0.9 | Delete Distribution Set by Id
GET /distributionsets/{distributionSetId}/assignedSM | 0.9 | Return the assigned software modules of a specific distribution set
POST /distributionsets/{distributionSetId}/assignedSM | 0.9 | Assign a list of software modules to a distribution set
DELETE /distributionsets/{distributionSetId}/assignedSM/{softwareModuleId} | 0.9 | Delete the assignment of the software module from the distribution set
GET /distributionsets/{distributionSetId}/assignedTargets | 0.9 | Return assigned targets to a specific distribution set
POST /distributionsets/{distributionSetId}/assignedTargets | 0.9 | Assigning multiple targets to a single distribution set
GET /distributionsets/{distributionSetId}/autoAssignTargetFilters | 0.9 | Return target filter queries that have the given distribution set as auto assign DS
GET /distributionsets/{distributionSetId}/autoAssignments | head | Return target filter queries that have the given distribution set as auto assign DS
GET /distributionsets/{distributionSetId}/installedTargets | 0.9 | Return installed targets to a specific distribution set
POST /distributionsets/{distributionSetId}/invalidate | 0.9 | Invalidate a distribution set
GET /distributionsets/{distributionSetId}/statistics | 0.9 | Return Rollouts, Actions and Auto Assignments counts by Status for Distribution Set
GET /distributionsets/{distributionSetId}/statistics/actions | 0.9 | Return Actions count by status for Distribution Set
GET /distributionsets/{distributionSetId}/statistics/autoassignments | 0.9 | Return Auto Assignments count for Distribution Set
GET /distributionsets/{distributionSetId}/statistics/rollouts | 0.9 | Return Rollouts count by status for Distribution Set
# Distribution set metadata
GET /distributionsets/{distributionSetId}/metadata | 0.9 | Return meta data for Distribution Set
POST /distributionsets/{distributionSetId}/metadata | 0.9 | Create a list of meta data for a specific distribution set
GET /distributionsets/{distributionSetId}/metadata/{metadataKey} | 0.9 | Return single meta data value for a specific key of a Distribution Set
PUT /distributionsets/{distributionSetId}/metadata/{metadataKey} | 0.9 | Update single meta data value of a distribution set
DELETE /distributionsets/{distributionSetId}/metadata/{metadataKey} | 0.9 | Delete a single meta data entry from the distribution set
# Distribution set types
GET /distributionsettypes | 0.9 | Return all Distribution Set Types
POST /distributionsettypes | 0.9 | Create new distribution set types
GET /distributionsettypes/{distributionSetTypeId} | 0.9 | Return single Distribution Set Type
PUT /distributionsettypes/{distributionSetTypeId} | 0.9 | Update Distribution Set Type
DELETE /distributionsettypes/{distributionSetTypeId} | 0.9 | Delete Distribution Set Type by Id
GET /distributionsettypes/{distributionSetTypeId}/mandatorymoduletypes | 0.9 | Return mandatory Software Module Types in a Distribution Set Type
POST /distributionsettypes/{distributionSetTypeId}/mandatorymoduletypes | 0.9 | Add mandatory Software Module Type to a Distribution Set Type
GET /distributionsettypes/{distributionSetTypeId}/mandatorymoduletypes/{softwareModuleTypeId} | 0.9 | Return single mandatory Software Module Type in a Distribution Set Type
DELETE /distributionsettypes/{distributionSetTypeId}/mandatorymoduletypes/{softwareModuleTypeId} | 0.9 | Delete a mandatory module from a Distribution Set Type
GET /distributionsettypes/{distributionSetTypeId}/optionalmoduletypes | 0.9 | Return optional Software Module Types in a Distribution Set Type
POST /distributionsettypes/{distributionSetTypeId}/optionalmoduletypes | 0.9 | Add optional Software Module Type to a Distribution Set Type
GET /distributionsettypes/{distributionSetTypeId}/optionalmoduletypes/{softwareModuleTypeId} | 0.9 | Return single optional Software Module Type in a Distribution Set Type
DELETE /distributionsettypes/{distributionSetTypeId}/optionalmoduletypes/{softwareModuleTypeId} | 0.9 | Delete an optional module from a Distribution Set Type
# Distribution set tags
GET /distributionsettags | 0.9 | Return all Distribution Set Tags
POST /distributionsettags | 0.9 | Creates new Distribution Set Tags
GET /distributionsettags/{distributionsetTagId} | 0.9 | Return single Distribution Set Tag
PUT /distributionsettags/{distributionsetTagId} | 0.9 | Update Distribution Set Tag
DELETE /distributionsettags/{distributionsetTagId} | 0.9 | Delete a single distribution set tag
GET /distributionsettags/{distributionsetTagId}/assigned | 0.9 | Return all assigned distribution sets by given tag Id
POST /distributionsettags/{distributionsetTagId}/assigned | 0.9 | Assign distribution sets to the given tag id
DELETE /distributionsettags/{distributionsetTagId}/assigned | 0.9 | Unassign multiple distribution sets from the given tag id
POST /distributionsettags/{distributionsetTagId}/assigned/{distributionsetId} | 0.9 | Assign distribution set to the given tag id
DELETE /distributionsettags/{distributionsetTagId}/assigned/{distributionsetId} | 0.9 | Unassign one distribution set from the given tag id
# Software modules
GET /softwaremodules | 0.9 | Return all Software modules
POST /softwaremodules | 0.9 | Create Software Module(s)
GET /softwaremodules/{softwareModuleId} | 0.9 | Return Software Module by id
PUT /softwaremodules/{softwareModuleId} | 0.9 | Update Software Module
DELETE /softwaremodules/{softwareModuleId} | 0.9 | Delete Software Module by Id
GET /softwaremodules/{softwareModuleId}/artifacts | 0.9 | Return all metadata of artifacts assigned to a software module
POST /softwaremodules/{softwareModuleId}/artifacts | 0.9 | Upload artifact
GET /softwaremodules/{softwareModuleId}/artifacts/{artifactId} | 0.9 | Return single Artifact metadata
DELETE /softwaremodules/{softwareModuleId}/artifacts/{artifactId} | 0.9 | Delete artifact by Id
GET /softwaremodules/{softwareModuleId}/artifacts/{artifactId}/download | 0.9 | Download artifact binary
# Software module metadata
GET /softwaremodules/{softwareModuleId}/metadata | 0.9 | Return metadata for a Software Module
POST /softwaremodules/{softwareModuleId}/metadata | 0.9 | Creates a list of metadata for a specific Software Module
GET /softwaremodules/{softwareModuleId}/metadata/{metadataKey} | 0.9 | Return single metadata value for a specific key of a Software Module
PUT /softwaremodules/{softwareModuleId}/metadata/{metadataKey} | 0.9 | Update a single metadata value of a Software Module
DELETE /softwaremodules/{softwareModuleId}/metadata/{metadataKey} | 0.9 | Delete single metadata entry from the software module
# Software module types
GET /softwaremoduletypes | 0.9 | Return all Software Module Types
POST /softwaremoduletypes | 0.9 | Creates new Software Module Types
GET /softwaremoduletypes/{softwareModuleTypeId} | 0.9 | Return single Software Module Type
PUT /softwaremoduletypes/{softwareModuleTypeId} | 0.9 | Update Software Module Type
DELETE /softwaremoduletypes/{softwareModuleTypeId} | 0.9 | Delete Software Module Type by Id
# Rollouts
GET /rollouts | 0.9 | Return all Rollouts
POST /rollouts | 0.9 | Create a new Rollout
GET /rollouts/{rolloutId} | 0.9 | Return single Rollout
PUT /rollouts/{rolloutId} | 0.9 | Update Rollout
DELETE /rollouts/{rolloutId} | 0.9 | Delete a Rollout
POST /rollouts/{rolloutId}/approve | 0.9 | Approve a Rollout
POST /rollouts/{rolloutId}/deny | 0.9 | Deny a Rollout
GET /rollouts/{rolloutId}/deploygroups | 0.9 | Return all rollout groups referred to a Rollout
GET /rollouts/{rolloutId}/deploygroups/{groupId} | 0.9 | Return single rollout group
GET /rollouts/{rolloutId}/deploygroups/{groupId}/targets | 0.9 | Return all targets related to a specific rollout group
POST /rollouts/{rolloutId}/pause | 0.9 | Pause a Rollout
POST /rollouts/{rolloutId}/resume | 0.9 | Resume a Rollout
POST /rollouts/{rolloutId}/retry | 0.9 | Retry a rollout
POST /rollouts/{rolloutId}/start | 0.9 | Start a Rollout
POST /rollouts/{rolloutId}/stop | 0.10 | Stop a Rollout
POST /rollouts/{rolloutId}/triggerNextGroup | 0.9 | Force trigger processing next group of a Rollout
# System configuration
GET /system/configs | 0.9 | Return all tenant specific configuration values
PUT /system/configs | 0.9 | Batch update of tenant configuration
GET /system/configs/{keyName} | 0.9 | Return a tenant specific configuration value
PUT /system/configs/{keyName} | 0.9 | Update a tenant specific configuration value
DELETE /system/configs/{keyName} | 0.9 | Delete a tenant specific configuration value
# User info
GET /userinfo | 0.9 | Validate basic auth, return tenant/user/permissions
`;

function parse(table: string): HawkbitEndpoint[] {
  const endpoints: HawkbitEndpoint[] = [];
  let resource = '';
  for (const line of table.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('# ')) {
      resource = line.slice(2);
      continue;
    }
    const [route = '', since, summary] = line.split(' | ');
    const [method, path] = route.split(' ');
    endpoints.push(HawkbitEndpoint.parse({ method, path, resource, summary, since }));
  }
  return endpoints;
}

/**
 * hawkBit's Management API: 164 endpoints at its newest source, 153 of them in the 1.1.0
 * release. The route-coverage test walks the backend's routes against this list, and the OpenAPI
 * document takes summaries, tags and parameter names from it.
 */
export const HAWKBIT_ENDPOINTS: readonly HawkbitEndpoint[] = parse(TABLE);
