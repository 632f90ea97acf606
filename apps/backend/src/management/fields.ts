import type { ActionView, DistributionSet, SoftwareModule, TargetView } from '@otaflow/core';
import type { FieldMap, StoreFieldNames } from '../query.js';
import { ipOf, type NumberedStatusEntry } from './representations.js';

// The fields each list can be filtered (`q`) and sorted (`sort`) by, under hawkBit's names.

export const targetFields: FieldMap<TargetView> = {
  id: (t) => t.controllerId,
  controllerId: (t) => t.controllerId,
  name: (t) => t.name,
  description: (t) => t.description,
  updateStatus: (t) => t.updateStatus.toLowerCase(),
  createdAt: (t) => t.createdAt,
  lastModifiedAt: (t) => t.lastModifiedAt,
  lastControllerRequestAt: (t) => t.lastContactAt,
  address: (t) => t.address,
  ipAddress: (t) => ipOf(t.address),
  channel: (t) => t.channel,
  group: (t) => t.group,
};

/** The target fields plus every `attribute.<key>` the query names (attributes are open-ended). */
export function targetFieldsFor(q: string | null): FieldMap<TargetView> {
  if (!q) return targetFields;
  const extra: FieldMap<TargetView> = { ...targetFields };
  for (const m of q.matchAll(/attribute\.([A-Za-z0-9_.-]+)/gi)) {
    const key = m[1] ?? '';
    extra[`attribute.${key}`] = (t) => t.attributes[key];
  }
  return extra;
}

export const actionFields: FieldMap<ActionView> = {
  id: (a) => a.id,
  active: (a) => a.active,
  status: (a) => a.status.toLowerCase(),
  lastStatusCode: (a) => a.lastStatusCode,
  createdAt: (a) => a.createdAt,
  lastModifiedAt: (a) => a.lastModifiedAt,
  weight: (a) => a.weight,
  'target.controllerId': (a) => a.controllerId,
  'distributionSet.id': (a) => a.distributionSetId,
  'distributionSet.name': (a) => a.distributionSetName,
  'distributionSet.version': (a) => a.distributionSetVersion,
};

export const statusFields: FieldMap<NumberedStatusEntry> = {
  id: (e) => e.id,
  timestamp: (e) => e.at,
  reportedAt: (e) => e.at,
  createdAt: (e) => e.at,
};

export const moduleFields: FieldMap<SoftwareModule> = {
  id: (m) => m.id,
  name: (m) => m.name,
  version: (m) => m.version,
  type: (m) => m.type,
  vendor: (m) => m.vendor,
  description: (m) => m.description,
  createdAt: (m) => m.createdAt,
  lastModifiedAt: (m) => m.lastModifiedAt,
};

export const setFields: FieldMap<DistributionSet> = {
  id: (s) => s.id,
  name: (s) => s.name,
  version: (s) => s.version,
  type: (s) => s.type,
  description: (s) => s.description,
  createdAt: (s) => s.createdAt,
  lastModifiedAt: (s) => s.lastModifiedAt,
};

// The same lists' hawkBit names onto the store's list fields (core's `*_LIST_FIELDS`): the
// Management API's lists are filtered, sorted and paged by the store.

export const targetListNames: StoreFieldNames = {
  fields: {
    id: 'controllerId',
    controllerId: 'controllerId',
    name: 'name',
    description: 'description',
    updateStatus: 'updateStatus',
    createdAt: 'createdAt',
    lastModifiedAt: 'lastModifiedAt',
    lastControllerRequestAt: 'lastContactAt',
    address: 'address',
    ipAddress: 'ipAddress',
    channel: 'channel',
    group: 'group',
    tag: 'tag',
    'tag.name': 'tag',
    'assignedds.name': 'assignedDistributionSetName',
    'assignedds.version': 'assignedDistributionSetVersion',
    'installedds.name': 'installedDistributionSetName',
    'installedds.version': 'installedDistributionSetVersion',
    // The type's id: hawkBit offers `targettype.key` and `.name`; ids are what targets store.
    targettype: 'targetType',
    'targettype.id': 'targetType',
    assignedds: 'assignedDistributionSetId',
    'assignedds.id': 'assignedDistributionSetId',
    'installedds.id': 'installedDistributionSetId',
    // Answered before the store (auditFields.ts): one user made every target.
    createdBy: 'createdBy',
    lastModifiedBy: 'lastModifiedBy',
  },
  prefixes: { attribute: 'attribute', metadata: 'metadata' },
  filterOnly: ['tag'],
};

export const actionListNames: StoreFieldNames = {
  fields: {
    id: 'id',
    active: 'active',
    status: 'status',
    lastStatusCode: 'lastStatusCode',
    createdAt: 'createdAt',
    lastModifiedAt: 'lastModifiedAt',
    weight: 'weight',
    'target.controllerId': 'controllerId',
    'distributionSet.id': 'distributionSetId',
    'distributionSet.name': 'distributionSetName',
    'distributionSet.version': 'distributionSetVersion',
  },
};

export const moduleListNames: StoreFieldNames = {
  fields: {
    id: 'id',
    name: 'name',
    version: 'version',
    type: 'type',
    vendor: 'vendor',
    description: 'description',
    locked: 'locked',
    deleted: 'deleted',
    createdAt: 'createdAt',
    lastModifiedAt: 'lastModifiedAt',
  },
};

export const setListNames: StoreFieldNames = {
  fields: {
    id: 'id',
    name: 'name',
    version: 'version',
    type: 'type',
    description: 'description',
    locked: 'locked',
    valid: 'valid',
    deleted: 'deleted',
    createdAt: 'createdAt',
    lastModifiedAt: 'lastModifiedAt',
  },
};
