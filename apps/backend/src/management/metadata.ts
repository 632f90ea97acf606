import { MAX_METADATA_PER_ENTITY, METADATA, MetadataRecord, metadataScope } from '@otaflow/core';
import { z } from 'zod';
import type { StoreFieldNames } from '../query.js';
import { storeListQuery } from '../query.js';
import { lockOf } from './locks.js';
import type { Endpoint, ManagementContext, Route } from './ManagementContext.js';
import { LIST_QUERY } from './openApiDocument.js';
import { alreadyExists, notFound } from './Problem.js';
import { quotaProblem } from './quotas.js';
import { paged } from './representations.js';
import {
  arrayBody,
  check,
  objectBody,
  requireModule,
  requireSet,
  requireTarget,
} from './requests.js';

/** Whose metadata a route serves: how the path names it, and the scope its entries live in. */
export interface Owner {
  /** hawkBit's entity name, for `notFound` and quota messages. */
  type: 'Target' | 'DistributionSet' | 'SoftwareModule';
  /** Resolves the path's owner (404 when it does not exist) to its entries' scope. */
  scopeOf(api: ManagementContext, id: string | undefined): Promise<string>;
  /** Software modules only: `targetVisible` is part of the entry. */
  visibility: boolean;
}

const TARGET: Owner = {
  type: 'Target',
  scopeOf: async (api, id) => metadataScope.target((await requireTarget(api, id)).controllerId),
  visibility: false,
};
const DISTRIBUTION_SET: Owner = {
  type: 'DistributionSet',
  scopeOf: async (api, id) => metadataScope.distributionSet((await requireSet(api, id)).id),
  visibility: false,
};
const SOFTWARE_MODULE: Owner = {
  type: 'SoftwareModule',
  scopeOf: async (api, id) => metadataScope.softwareModule((await requireModule(api, id)).id),
  visibility: true,
};

const Key = MetadataRecord.shape.key;
const MetadataCreate = z.object({
  key: Key,
  value: MetadataRecord.shape.value.optional(),
  targetVisible: z.boolean().optional(),
});
const MetadataUpdate = z.object({
  key: Key.optional(),
  value: MetadataRecord.shape.value.optional(),
  targetVisible: z.boolean().optional(),
});

const LIST_NAMES: StoreFieldNames = {
  fields: { key: 'key', value: 'value', targetVisible: 'targetVisible' },
};

function entryJson(owner: Owner, entry: MetadataRecord) {
  return owner.visibility
    ? { key: entry.key, value: entry.value, targetVisible: entry.targetVisible ?? false }
    : { key: entry.key, value: entry.value };
}

/**
 * One owner's writes at a time in this process, so that two requests creating the same key do
 * not both find it free. (Across backends the keys are checked, not locked: a race there can
 * leave a duplicate key, which reads then answer with the oldest entry.)
 */

async function requireEntry(api: ManagementContext, owner: Owner, scope: string, key: string) {
  const entry = await api.service.collection(METADATA).findBy('key', key, scope);
  if (!entry) throw notFound(`${owner.type}Metadata`, key);
  return entry;
}

export function listMetadata(owner: Owner): Endpoint {
  return async (api, request) => {
    const scope = await owner.scopeOf(api, request.params.id);
    const query = storeListQuery(request.query, LIST_NAMES, 'key:ASC');
    const page = await api.service.collection(METADATA).list(query, scope);
    return {
      status: 200,
      body: paged(
        page.items.map((e) => entryJson(owner, e)),
        page.total,
      ),
    };
  };
}

/** `POST .../metadata`: all or none; a key already there (or twice in the body) is 409. */
export function createMetadata(owner: Owner): Endpoint {
  return async (api, request) => {
    const list = (await arrayBody(request)).map((item) => check(MetadataCreate, item));
    const scope = await owner.scopeOf(api, request.params.id);
    const entries = api.service.collection(METADATA);
    return lockOf(api).run(scope, async () => {
      const seen = new Set<string>();
      for (const m of list) {
        if (seen.has(m.key) || (await entries.findBy('key', m.key, scope))) throw alreadyExists();
        seen.add(m.key);
      }
      const held = (await entries.list({ limit: 0 }, scope)).total;
      if (held + list.length > MAX_METADATA_PER_ENTITY)
        throw quotaProblem(
          'meta data entries',
          `${owner.type} ${request.params.id}`,
          MAX_METADATA_PER_ENTITY,
        );
      const created: MetadataRecord[] = [];
      for (const m of list) {
        const record: MetadataRecord = {
          id: await entries.nextId(),
          revision: 0,
          scope,
          key: m.key,
          value: m.value ?? '',
          ...(owner.visibility ? { targetVisible: m.targetVisible ?? false } : {}),
        };
        await entries.put(record, -1);
        created.push(record);
      }
      return { status: 201, body: created.map((e) => entryJson(owner, e)) };
    });
  };
}

export function getMetadata(owner: Owner): Endpoint {
  return async (api, request) => {
    const scope = await owner.scopeOf(api, request.params.id);
    const entry = await requireEntry(api, owner, scope, request.params.key ?? '');
    return { status: 200, body: entryJson(owner, entry) };
  };
}

/** `PUT .../metadata/{key}`: the value (and visibility) change; the key stays the path's. */
export function updateMetadata(owner: Owner): Endpoint {
  return async (api, request) => {
    const body = check(MetadataUpdate, await objectBody(request));
    const scope = await owner.scopeOf(api, request.params.id);
    return lockOf(api).run(scope, async () => {
      const entry = await requireEntry(api, owner, scope, request.params.key ?? '');
      const next: MetadataRecord = {
        ...entry,
        revision: entry.revision + 1,
        ...(body.value !== undefined ? { value: body.value } : {}),
        ...(owner.visibility && body.targetVisible !== undefined
          ? { targetVisible: body.targetVisible }
          : {}),
      };
      await api.service.collection(METADATA).put(next, entry.revision);
      return { status: 200, body: entryJson(owner, next) };
    });
  };
}

export function deleteMetadata(owner: Owner): Endpoint {
  return async (api, request) => {
    const scope = await owner.scopeOf(api, request.params.id);
    return lockOf(api).run(scope, async () => {
      const entry = await requireEntry(api, owner, scope, request.params.key ?? '');
      await api.service.collection(METADATA).delete(entry.id);
      return { status: 200 };
    });
  };
}

function metadataRoutes(base: string, owner: Owner): Route[] {
  return [
    { method: 'GET', path: `${base}/metadata`, endpoint: listMetadata(owner), query: LIST_QUERY },
    {
      method: 'POST',
      path: `${base}/metadata`,
      endpoint: createMetadata(owner),
      body: { schema: MetadataCreate, array: true },
    },
    { method: 'GET', path: `${base}/metadata/:key`, endpoint: getMetadata(owner) },
    {
      method: 'PUT',
      path: `${base}/metadata/:key`,
      endpoint: updateMetadata(owner),
      body: { schema: MetadataUpdate },
    },
    { method: 'DELETE', path: `${base}/metadata/:key`, endpoint: deleteMetadata(owner) },
  ];
}

/** The three owners, for tests that call the endpoints directly. */
export const METADATA_OWNERS = {
  target: TARGET,
  distributionSet: DISTRIBUTION_SET,
  softwareModule: SOFTWARE_MODULE,
} as const;

/** hawkBit's 15 metadata endpoints: targets, distribution sets and software modules. */
export const metadataRouteList: Route[] = [
  ...metadataRoutes('/targets/:id', TARGET),
  ...metadataRoutes('/distributionsets/:id', DISTRIBUTION_SET),
  ...metadataRoutes('/softwaremodules/:id', SOFTWARE_MODULE),
];
