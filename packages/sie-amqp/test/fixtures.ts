import type { ActionDomainEvent, TargetDomainEvent, UpdateAssignmentEvent } from '@otaflow/core';

export const TENANT = 'C3BA66FB-FE5F-44AB-835A-EF00436A1234';

export const targetCreated: TargetDomainEvent = {
  type: 'TARGET_CREATED',
  controllerId: 'test_device',
  updateStatus: 'REGISTERED',
  timestamp: 1234567890123,
};

export const targetUpdated: TargetDomainEvent = {
  ...targetCreated,
  type: 'TARGET_UPDATED',
  updateStatus: 'PENDING',
};
export const targetDeleted: TargetDomainEvent = {
  ...targetCreated,
  type: 'TARGET_DELETED',
  updateStatus: 'UNKNOWN',
};

export const actionCreated: ActionDomainEvent = {
  type: 'ACTION_CREATED',
  actionId: 99,
  actionStatus: 'RUNNING',
  lastActionStatusCode: 'N/A',
  actionActive: true,
  controllerId: 'test_device',
  distributionSetId: 7,
  distributionSetName: 'test_distro',
  distributionSetVersion: '1.0.0',
  timestamp: 1234567890123,
};

export const actionUpdated: ActionDomainEvent = {
  ...actionCreated,
  type: 'ACTION_UPDATED',
  actionStatus: 'FINISHED',
  lastActionStatusCode: '200',
  actionActive: false,
};

/** The UPDATE_ASSIGNMENT example of the SIE page, as a core domain event. */
export const assignment: UpdateAssignmentEvent = {
  type: 'UPDATE_ASSIGNMENT',
  distributionSetId: 7,
  timestamp: 1646928314964,
  softwareModules: [
    {
      moduleId: 78,
      moduleType: 'application',
      moduleVersion: 'v1.0',
      moduleName: 'app',
      artifacts: [
        {
          id: 5,
          filename: 'simple_artifact.json',
          size: 16,
          hashes: {
            sha1: 'f0fd770816e8e479ca8ea703995a866be4798b58',
            md5: 'eaf6af2f1784fdff24b4d123aad4ef56',
            sha256: '635626945ae8e25aa491267fe5b1b0f3661cf2801e4a53f77084cf77dfa57893',
          },
        },
      ],
      metadata: [
        { key: 'key1', value: 'value1' },
        { key: 'key2', value: 'value2' },
      ],
    },
  ],
  targets: [
    {
      actionId: 3,
      controllerId: 'device01',
      securityToken: '504a291d05869fdda709ebbe83ded429',
      type: 'forced',
      confirmation: 'not_applicable',
    },
    {
      actionId: 4,
      controllerId: 'device02',
      securityToken: '818904fe66ff9c1b4ac3b4ceacdfe15e',
      type: 'forced',
      confirmation: 'not_applicable',
    },
  ],
};

export const artifactUrls = () => ({ HTTP: 'http://link-to-cdn/TENANT/example' });

/** The SIE page's payload examples, verbatim (whitespace aside). */
export const SEED_BODIES = {
  TARGET_CREATED:
    '{"controllerId":"test_device","updateStatus":"REGISTERED","timestamp":1234567890123}',
  TARGET_UPDATED:
    '{"controllerId":"test_device","updateStatus":"PENDING","timestamp":1234567890123}',
  TARGET_DELETED:
    '{"controllerId":"test_device","updateStatus":"UNKNOWN","timestamp":1234567890123}',
  ACTION_CREATED:
    '{"actionId":99,"actionStatus":"RUNNING","lastActionStatusCode":"N/A","actionActive":true,"controllerId":"test_device","distributionSetName":"test_distro","distributionSetVersion":"1.0.0","timestamp":1234567890123}',
  ACTION_UPDATED:
    '{"actionId":99,"actionStatus":"FINISHED","lastActionStatusCode":"200","actionActive":false,"controllerId":"test_device","distributionSetName":"test_distro","distributionSetVersion":"1.0.0","timestamp":1234567890123}',
  UPDATE_ASSIGNMENT:
    '{"timestamp":1646928314964,"softwareModules":[{"moduleId":78,"moduleType":"application","moduleVersion":"v1.0","moduleName":"app","artifacts":[{"filename":"simple_artifact.json","hashes":{"sha1":"f0fd770816e8e479ca8ea703995a866be4798b58","md5":"eaf6af2f1784fdff24b4d123aad4ef56","sha256":"635626945ae8e25aa491267fe5b1b0f3661cf2801e4a53f77084cf77dfa57893"},"size":16,"urls":{"HTTP":"http://link-to-cdn/TENANT/example"}}],"metadata":[{"key":"key1","value":"value1"},{"key":"key2","value":"value2"}]}],"targets":[{"actionId":3,"controllerId":"device01","securityToken":"504a291d05869fdda709ebbe83ded429","type":"forced","confirmation":"not_applicable"},{"actionId":4,"controllerId":"device02","securityToken":"818904fe66ff9c1b4ac3b4ceacdfe15e","type":"forced","confirmation":"not_applicable"}]}',
} as const;

export const ALL_EVENTS = [
  targetCreated,
  targetUpdated,
  targetDeleted,
  actionCreated,
  actionUpdated,
  assignment,
];

export function manyTargets(count: number): UpdateAssignmentEvent {
  return {
    ...assignment,
    targets: Array.from({ length: count }, (_, i) => ({
      actionId: i + 1,
      controllerId: `device-${i}`,
      securityToken: `token-${i}`,
      type: 'soft' as const,
      confirmation: 'pending' as const,
    })),
  };
}
