import {
  type Collection,
  DISTRIBUTION_SET_TAGS,
  TAG_ASSIGNMENTS,
  TARGET_TAGS,
  type TagAssignment,
  TagRecord,
  tagScope,
} from '@otaflow/core';
import { z } from 'zod';
import { pagingOf, type StoreFieldNames, storeListQuery } from '../query.js';
import { lockOf } from './locks.js';
import type {
  Endpoint,
  EndpointRequest,
  ManagementContext,
  Reply,
  Route,
} from './ManagementContext.js';
import { LIST_QUERY } from './openApiDocument.js';
import { alreadyExists, notFound } from './Problem.js';
import { MGMT_BASE, paged, setJson, targetJson } from './representations.js';
import { arrayBody, check, intParam, objectBody, requireSet, requireTarget } from './requests.js';

/** What differs between target tags and distribution-set tags. */
export interface TagKind {
  /** `targettags` or `distributionsettags`. */
  path: string;
  /** hawkBit's entity name, for `notFound`. */
  type: 'TargetTag' | 'DistributionSetTag';
  tags: Collection<TagRecord>;
  scopeOf(tagId: number): string;
  /** The `_links` key of a tag's members. */
  membersLink: 'assignedTargets' | 'assignedDistributionSets';
  /** A member named by a request (body item or path): its key, or 404. */
  member(api: ManagementContext, raw: unknown): Promise<string>;
  /** A member's JSON, as the member's own resource shows it in a list. */
  memberJson(api: ManagementContext, base: string, key: string): Promise<unknown>;
  /** One item of an assign/unassign body, as the OpenAPI document shows it. */
  memberSchema: z.ZodType;
}

/** A controller id as hawkBit's bodies give it: a string, or `{ controllerId }`. */
function controllerIdOf(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (raw && typeof raw === 'object' && 'controllerId' in raw) {
    const id = (raw as { controllerId: unknown }).controllerId;
    return typeof id === 'string' ? id : undefined;
  }
  return undefined;
}

/** A set id as hawkBit's bodies give it: a number, or `{ id }`. */
function setIdOf(raw: unknown): number | string | undefined {
  if (typeof raw === 'number' || typeof raw === 'string') return raw;
  if (raw && typeof raw === 'object' && 'id' in raw) {
    const id = (raw as { id: unknown }).id;
    return typeof id === 'number' || typeof id === 'string' ? id : undefined;
  }
  return undefined;
}

export const TARGET_TAG_KIND: TagKind = {
  path: 'targettags',
  type: 'TargetTag',
  tags: TARGET_TAGS,
  scopeOf: tagScope.target,
  membersLink: 'assignedTargets',
  memberSchema: z.union([z.string(), z.object({ controllerId: z.string() })]),
  member: async (api, raw) => (await requireTarget(api, controllerIdOf(raw))).controllerId,
  memberJson: async (api, base, key) => {
    const target = await api.service.getTarget(key);
    return target && targetJson(api, base, target, false);
  },
};

export const DISTRIBUTION_SET_TAG_KIND: TagKind = {
  path: 'distributionsettags',
  type: 'DistributionSetTag',
  tags: DISTRIBUTION_SET_TAGS,
  scopeOf: tagScope.distributionSet,
  membersLink: 'assignedDistributionSets',
  memberSchema: z.union([z.number().int(), z.object({ id: z.number().int() })]),
  member: async (api, raw) => String((await requireSet(api, setIdOf(raw))).id),
  memberJson: async (api, base, key) => {
    const set = await api.service.getDistributionSet(Number(key));
    return set && setJson(api, base, set, false);
  },
};

const TagCreate = z.object({
  name: TagRecord.shape.name,
  description: TagRecord.shape.description,
  colour: TagRecord.shape.colour,
});
const TagUpdate = TagCreate.partial();

const LIST_NAMES: StoreFieldNames = {
  fields: {
    id: 'id',
    name: 'name',
    description: 'description',
    colour: 'colour',
    createdAt: 'createdAt',
    lastModifiedAt: 'lastModifiedAt',
  },
};

function tagJson(kind: TagKind, base: string, tag: TagRecord) {
  const self = `${base}${MGMT_BASE}/${kind.path}/${tag.id}`;
  return {
    createdBy: tag.createdBy,
    createdAt: tag.createdAt,
    lastModifiedBy: tag.lastModifiedBy,
    lastModifiedAt: tag.lastModifiedAt,
    id: tag.id,
    name: tag.name,
    ...(tag.description !== undefined ? { description: tag.description } : {}),
    ...(tag.colour !== undefined ? { colour: tag.colour } : {}),
    _links: {
      self: { href: self },
      [kind.membersLink]: { href: `${self}/assigned?offset=0&limit=50` },
    },
  };
}

/** Tag writes one at a time per API in this process: names stay unique, members single. */
function locked<T>(api: ManagementContext, key: string, work: () => Promise<T>): Promise<T> {
  return lockOf(api).run(`tags\u0000${key}`, work);
}

async function requireTag(api: ManagementContext, kind: TagKind, raw: string | undefined) {
  const id = intParam(raw, kind.type);
  const tag = await api.service.collection(kind.tags).get(id);
  if (!tag) throw notFound(kind.type, raw ?? '');
  return tag;
}

export function listTags(kind: TagKind): Endpoint {
  return async (api, request) => {
    const query = storeListQuery(request.query, LIST_NAMES, 'id:ASC');
    const page = await api.service.collection(kind.tags).list(query);
    return {
      status: 200,
      body: paged(
        page.items.map((t) => tagJson(kind, request.base, t)),
        page.total,
      ),
    };
  };
}

/** `POST /{tags}`: all or none; a name already there (or twice in the body) is 409. */
export function createTags(kind: TagKind): Endpoint {
  return async (api, request) => {
    const list = (await arrayBody(request)).map((item) => check(TagCreate, item));
    const tags = api.service.collection(kind.tags);
    return locked(api, kind.path, async () => {
      const seen = new Set<string>();
      for (const t of list) {
        if (seen.has(t.name) || (await tags.findBy('name', t.name))) throw alreadyExists();
        seen.add(t.name);
      }
      const now = api.service.now();
      const created: TagRecord[] = [];
      for (const t of list) {
        const tag: TagRecord = {
          id: await tags.nextId(),
          revision: 0,
          name: t.name,
          ...(t.description !== undefined ? { description: t.description } : {}),
          ...(t.colour !== undefined ? { colour: t.colour } : {}),
          createdAt: now,
          createdBy: api.user,
          lastModifiedAt: now,
          lastModifiedBy: api.user,
        };
        await tags.put(tag, -1);
        created.push(tag);
      }
      return { status: 201, body: created.map((t) => tagJson(kind, request.base, t)) };
    });
  };
}

export function getTag(kind: TagKind): Endpoint {
  return async (api, request) => {
    const tag = await requireTag(api, kind, request.params.tagId);
    return { status: 200, body: tagJson(kind, request.base, tag) };
  };
}

export function updateTag(kind: TagKind): Endpoint {
  return async (api, request) => {
    const body = check(TagUpdate, await objectBody(request));
    return locked(api, kind.path, async () => {
      const tag = await requireTag(api, kind, request.params.tagId);
      const tags = api.service.collection(kind.tags);
      if (body.name !== undefined && body.name !== tag.name) {
        const other = await tags.findBy('name', body.name);
        if (other && other.id !== tag.id) throw alreadyExists();
      }
      const next: TagRecord = {
        ...tag,
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.colour !== undefined ? { colour: body.colour } : {}),
        revision: tag.revision + 1,
        lastModifiedAt: api.service.now(),
        lastModifiedBy: api.user,
      };
      await tags.put(next, tag.revision);
      return { status: 200, body: tagJson(kind, request.base, next) };
    });
  };
}

/** `DELETE /{tags}/{id}`: the tag and its assignments; the members themselves stay. */
export function deleteTag(kind: TagKind): Endpoint {
  return async (api, request) => {
    const tag = await requireTag(api, kind, request.params.tagId);
    await api.service.collection(TAG_ASSIGNMENTS).deleteScope(kind.scopeOf(tag.id));
    await api.service.collection(kind.tags).delete(tag.id);
    return { status: 200 };
  };
}

/** `GET /{tags}/{id}/assigned`: the members in the order they were tagged, paged. */
export function listMembers(kind: TagKind): Endpoint {
  return async (api, request) => {
    const tag = await requireTag(api, kind, request.params.tagId);
    const { offset, limit } = pagingOf(request.query);
    const page = await api.service
      .collection(TAG_ASSIGNMENTS)
      .list({ offset, limit }, kind.scopeOf(tag.id));
    const members = await Promise.all(
      page.items.map((a) => kind.memberJson(api, request.base, a.member)),
    );
    return { status: 200, body: paged(members.filter(Boolean), page.total) };
  };
}

async function assign(api: ManagementContext, kind: TagKind, tagId: number, members: string[]) {
  const assignments = api.service.collection(TAG_ASSIGNMENTS);
  const scope = kind.scopeOf(tagId);
  await locked(api, scope, async () => {
    for (const member of new Set(members)) {
      if (await assignments.findBy('member', member, scope)) continue;
      const record: TagAssignment = {
        id: await assignments.nextId(),
        revision: 0,
        scope,
        tagId,
        member,
      };
      await assignments.put(record, -1);
    }
  });
}

async function unassign(api: ManagementContext, kind: TagKind, tagId: number, members: string[]) {
  const assignments = api.service.collection(TAG_ASSIGNMENTS);
  const scope = kind.scopeOf(tagId);
  await locked(api, scope, async () => {
    for (const member of new Set(members)) {
      const found = await assignments.findBy('member', member, scope);
      if (found) await assignments.delete(found.id);
    }
  });
}

async function membersOfBody(api: ManagementContext, kind: TagKind, request: EndpointRequest) {
  const body = check(z.array(z.unknown()), await request.json());
  const members: string[] = [];
  // Every member must exist before anything changes: one unknown is the request's 404.
  for (const raw of body) members.push(await kind.member(api, raw));
  return members;
}

/** `POST /{tags}/{id}/assigned`: a list of members; those already tagged stay as they are. */
export function assignMembers(kind: TagKind): Endpoint {
  return async (api, request) => {
    const tag = await requireTag(api, kind, request.params.tagId);
    const members = await membersOfBody(api, kind, request);
    await assign(api, kind, tag.id, members);
    const body = await Promise.all(members.map((m) => kind.memberJson(api, request.base, m)));
    return { status: 200, body };
  };
}

/** `DELETE /{tags}/{id}/assigned`: a list of members, untagged. */
export function unassignMembers(kind: TagKind): Endpoint {
  return async (api, request) => {
    const tag = await requireTag(api, kind, request.params.tagId);
    await unassign(api, kind, tag.id, await membersOfBody(api, kind, request));
    return { status: 200 };
  };
}

export function assignMember(kind: TagKind): Endpoint {
  return async (api, request) => {
    const tag = await requireTag(api, kind, request.params.tagId);
    await assign(api, kind, tag.id, [await kind.member(api, request.params.member)]);
    return { status: 200 };
  };
}

export function unassignMember(kind: TagKind): Endpoint {
  return async (api, request) => {
    const tag = await requireTag(api, kind, request.params.tagId);
    await unassign(api, kind, tag.id, [await kind.member(api, request.params.member)]);
    return { status: 200 };
  };
}

/** `GET /targets/{id}/tags`: every target tag on the target. */
export async function getTagsOfTarget(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const target = await requireTarget(api, request.params.id);
  const tags = await tagsOf(api, TARGET_TAG_KIND, target.controllerId);
  return { status: 200, body: tags.map((t) => tagJson(TARGET_TAG_KIND, request.base, t)) };
}

/** A member's assignments to tags of `kind` (the filter folds case; the member must match exactly). */
async function assignmentsOf(api: ManagementContext, kind: TagKind, member: string) {
  const prefix = kind.scopeOf(0).slice(0, -1);
  const { items } = await api.service.collection(TAG_ASSIGNMENTS).list({
    filter: { kind: 'cmp', field: 'member', op: '==', values: [member] },
  });
  return items.filter((a) => a.member === member && a.scope?.startsWith(prefix));
}

/** The tags of a member, by id. */
async function tagsOf(api: ManagementContext, kind: TagKind, member: string) {
  const ids = (await assignmentsOf(api, kind, member)).map((a) => a.tagId);
  const tags = await Promise.all(ids.map((id) => api.service.collection(kind.tags).get(id)));
  return tags.filter((t): t is TagRecord => t !== undefined).sort((a, b) => a.id - b.id);
}

/** A member that goes away leaves no assignment behind (a target or set deleted). */
export async function untagEverywhere(api: ManagementContext, kind: TagKind, member: string) {
  const assignments = api.service.collection(TAG_ASSIGNMENTS);
  for (const a of await assignmentsOf(api, kind, member)) await assignments.delete(a.id);
}

function routesOf(kind: TagKind): Route[] {
  const base = `/${kind.path}`;
  return [
    { method: 'GET', path: base, endpoint: listTags(kind), query: LIST_QUERY },
    {
      method: 'POST',
      path: base,
      endpoint: createTags(kind),
      body: { schema: TagCreate, array: true },
    },
    { method: 'GET', path: `${base}/:tagId`, endpoint: getTag(kind) },
    {
      method: 'PUT',
      path: `${base}/:tagId`,
      endpoint: updateTag(kind),
      body: { schema: TagUpdate },
    },
    { method: 'DELETE', path: `${base}/:tagId`, endpoint: deleteTag(kind) },
    {
      method: 'GET',
      path: `${base}/:tagId/assigned`,
      endpoint: listMembers(kind),
      query: LIST_QUERY,
    },
    {
      method: 'POST',
      path: `${base}/:tagId/assigned`,
      endpoint: assignMembers(kind),
      body: { schema: kind.memberSchema, array: true },
    },
    {
      method: 'DELETE',
      path: `${base}/:tagId/assigned`,
      endpoint: unassignMembers(kind),
      body: { schema: kind.memberSchema, array: true },
    },
    { method: 'POST', path: `${base}/:tagId/assigned/:member`, endpoint: assignMember(kind) },
    { method: 'DELETE', path: `${base}/:tagId/assigned/:member`, endpoint: unassignMember(kind) },
  ];
}

/** hawkBit's 20 tag endpoints, and the tags of a target. */
export const tagRoutes: Route[] = [
  ...routesOf(TARGET_TAG_KIND),
  ...routesOf(DISTRIBUTION_SET_TAG_KIND),
  { method: 'GET', path: '/targets/:id/tags', endpoint: getTagsOfTarget, query: LIST_QUERY },
];
