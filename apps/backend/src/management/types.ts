import {
  type Collection,
  DISTRIBUTION_SET_TYPES,
  type DistributionSetTypeRecord,
  type FilterNode,
  SOFTWARE_MODULE_TYPES,
  type SoftwareModuleTypeRecord,
  TARGET_TYPES,
  type TargetTypeRecord,
} from '@otaflow/core';
import { z } from 'zod';
import { type StoreFieldNames, storeListQuery } from '../query.js';
import { lockOf } from './locks.js';
import type { Endpoint, ManagementContext, Route } from './ManagementContext.js';
import { LIST_QUERY } from './openApiDocument.js';
import { alreadyExists, hawkbitProblem, notFound } from './Problem.js';
import { MGMT_BASE, paged } from './representations.js';
import { arrayBody, check, intParam, objectBody } from './requests.js';
import { typeCatalogue } from './typeCatalogue.js';

type Json = Record<string, unknown>;
type AnyType = SoftwareModuleTypeRecord | DistributionSetTypeRecord | TargetTypeRecord;

const Named = {
  name: z.string().min(1).max(64),
  description: z.string().max(512).optional(),
  colour: z.string().max(16).optional(),
};
const IdList = z.array(z.object({ id: z.number().int() }));

const ModuleTypeCreate = z.object({
  ...Named,
  key: z.string().min(1).max(64),
  maxAssignments: z.number().int().positive().optional(),
  minArtifacts: z.number().int().nonnegative().optional(),
});
const SetTypeCreate = z.object({
  ...Named,
  key: z.string().min(1).max(64),
  mandatorymodules: IdList.optional(),
  optionalmodules: IdList.optional(),
});
const TargetTypeCreate = z.object({
  ...Named,
  key: z.string().min(1).max(64).optional(),
  compatibledistributionsettypes: IdList.optional(),
});
/** hawkBit lets a PUT change description and colour (and a target type's name). */
const TypeUpdate = z.object({ description: Named.description, colour: Named.colour });
const TargetTypeUpdate = TypeUpdate.extend({ name: Named.name.optional() });

/** What differs between the three kinds of type. */
interface TypeKind<R extends AnyType> {
  path: 'softwaremoduletypes' | 'distributionsettypes' | 'targettypes';
  /** hawkBit's entity name, for `notFound`. */
  entity: string;
  collection: Collection<R>;
  createSchema: z.ZodType;
  updateSchema: z.ZodType;
  /** The new record's own fields from a checked create body (references checked here). */
  build(api: ManagementContext, body: Json): Promise<Json>;
  json(base: string, record: R): Json;
  /** How many things use it; a used type is deleted softly, or (target types) not at all. */
  users(api: ManagementContext, record: R): Promise<number>;
  whenUsed: 'soft' | 'refuse';
}

const countOf = async (page: Promise<{ total: number }>) => (await page).total;
const cmp = (field: string, value: string | number): FilterNode => ({
  kind: 'cmp',
  field,
  op: '==',
  values: [String(value)],
});

function baseJson(kind: TypeKind<AnyType>, base: string, t: AnyType): Json {
  return {
    createdBy: t.createdBy,
    createdAt: t.createdAt,
    lastModifiedBy: t.lastModifiedBy,
    lastModifiedAt: t.lastModifiedAt,
    name: t.name,
    ...(t.description !== undefined ? { description: t.description } : {}),
    ...(t.key !== undefined ? { key: t.key } : {}),
    ...(t.colour !== undefined ? { colour: t.colour } : {}),
    deleted: t.deleted === true,
    id: t.id,
    _links: { self: { href: `${base}${MGMT_BASE}/${kind.path}/${t.id}` } },
  };
}

/** Ids that must name existing, not deleted records of `collection`. */
async function requireAll<R extends AnyType>(
  api: ManagementContext,
  collection: Collection<R>,
  entity: string,
  ids: readonly { id: number }[] | undefined,
): Promise<number[]> {
  const out: number[] = [];
  for (const { id } of ids ?? []) {
    const found = await api.service.collection(collection).get(id);
    if (!found || found.deleted) throw notFound(entity, id);
    out.push(id);
  }
  return [...new Set(out)];
}

export const MODULE_TYPE_KIND: TypeKind<SoftwareModuleTypeRecord> = {
  path: 'softwaremoduletypes',
  entity: 'SoftwareModuleType',
  collection: SOFTWARE_MODULE_TYPES,
  createSchema: ModuleTypeCreate,
  updateSchema: TypeUpdate,
  build: async (_api, body) => ({
    maxAssignments: body.maxAssignments ?? 1,
    minArtifacts: body.minArtifacts ?? 0,
  }),
  json: (base, t) => ({
    ...baseJson(MODULE_TYPE_KIND as TypeKind<AnyType>, base, t),
    maxAssignments: t.maxAssignments,
    minArtifacts: t.minArtifacts,
  }),
  users: (api, t) =>
    countOf(api.service.listSoftwareModules({ filter: cmp('type', t.key), limit: 0 })),
  whenUsed: 'soft',
};

export const SET_TYPE_KIND: TypeKind<DistributionSetTypeRecord> = {
  path: 'distributionsettypes',
  entity: 'DistributionSetType',
  collection: DISTRIBUTION_SET_TYPES,
  createSchema: SetTypeCreate,
  updateSchema: TypeUpdate,
  build: async (api, body) => {
    const create = body as z.infer<typeof SetTypeCreate>;
    return {
      mandatory: await requireAll(
        api,
        SOFTWARE_MODULE_TYPES,
        'SoftwareModuleType',
        create.mandatorymodules,
      ),
      optional: await requireAll(
        api,
        SOFTWARE_MODULE_TYPES,
        'SoftwareModuleType',
        create.optionalmodules,
      ),
    };
  },
  json: (base, t) => {
    const json = baseJson(SET_TYPE_KIND as TypeKind<AnyType>, base, t);
    const self = `${base}${MGMT_BASE}/distributionsettypes/${t.id}`;
    json._links = {
      self: { href: self },
      mandatorymodules: { href: `${self}/mandatorymoduletypes` },
      optionalmodules: { href: `${self}/optionalmoduletypes` },
    };
    return json;
  },
  users: (api, t) =>
    countOf(api.service.listDistributionSets({ filter: cmp('type', t.key), limit: 0 })),
  whenUsed: 'soft',
};

export const TARGET_TYPE_KIND: TypeKind<TargetTypeRecord> = {
  path: 'targettypes',
  entity: 'TargetType',
  collection: TARGET_TYPES,
  createSchema: TargetTypeCreate,
  updateSchema: TargetTypeUpdate,
  build: async (api, body) => ({
    compatible: await requireAll(
      api,
      DISTRIBUTION_SET_TYPES,
      'DistributionSetType',
      (body as z.infer<typeof TargetTypeCreate>).compatibledistributionsettypes,
    ),
  }),
  json: (base, t) => {
    const json = baseJson(TARGET_TYPE_KIND as TypeKind<AnyType>, base, t);
    const self = `${base}${MGMT_BASE}/targettypes/${t.id}`;
    json._links = {
      self: { href: self },
      compatibledistributionsettypes: { href: `${self}/compatibledistributionsettypes` },
    };
    return json;
  },
  users: (api, t) =>
    countOf(api.service.listTargets({ filter: cmp('targetType', t.id), limit: 0 })),
  whenUsed: 'refuse',
};

const LIST_NAMES: StoreFieldNames = {
  fields: {
    id: 'id',
    name: 'name',
    key: 'key',
    description: 'description',
    colour: 'colour',
    deleted: 'deleted',
    maxAssignments: 'maxAssignments',
    createdAt: 'createdAt',
    lastModifiedAt: 'lastModifiedAt',
  },
};

/** Type writes one at a time per API: names and keys stay unique. */
const locked = <T>(api: ManagementContext, work: () => Promise<T>) =>
  lockOf(api).run('types', work);

async function requireType<R extends AnyType>(
  api: ManagementContext,
  kind: TypeKind<R>,
  raw: string | undefined,
): Promise<R> {
  await typeCatalogue(api.service, api.user);
  const id = intParam(raw, kind.entity);
  const found = await api.service.collection(kind.collection).get(id);
  if (!found) throw notFound(kind.entity, raw ?? '');
  return found;
}

async function save<R extends AnyType>(
  api: ManagementContext,
  kind: TypeKind<R>,
  t: R,
  patch: Partial<R>,
) {
  const next = {
    ...t,
    ...patch,
    revision: t.revision + 1,
    lastModifiedAt: Date.now(),
    lastModifiedBy: api.user,
  };
  await api.service.collection(kind.collection).put(next, t.revision);
  return next;
}

function listTypes<R extends AnyType>(kind: TypeKind<R>): Endpoint {
  return async (api, request) => {
    await typeCatalogue(api.service, api.user);
    const query = storeListQuery(request.query, LIST_NAMES, 'id:ASC');
    const page = await api.service.collection(kind.collection).list(query);
    return {
      status: 200,
      body: paged(
        page.items.map((t) => kind.json(request.base, t)),
        page.total,
      ),
    };
  };
}

/** Creates, all or nothing; a name or key another type of the kind carries is 409. */
function createTypes<R extends AnyType>(kind: TypeKind<R>): Endpoint {
  return async (api, request) => {
    const list = (await arrayBody(request)).map((item) => check(kind.createSchema, item) as Json);
    await typeCatalogue(api.service, api.user);
    return locked(api, async () => {
      const types = api.service.collection(kind.collection);
      const names = new Set<string>();
      const keys = new Set<string>();
      const built: Json[] = [];
      for (const body of list) {
        const name = String(body.name);
        const key = body.key === undefined ? undefined : String(body.key);
        if (names.has(name) || (await types.findBy('name', name))) throw alreadyExists();
        if (key !== undefined && (keys.has(key) || (await types.findBy('key', key))))
          throw alreadyExists();
        names.add(name);
        if (key !== undefined) keys.add(key);
        built.push(await kind.build(api, body));
      }
      const now = Date.now();
      const created: R[] = [];
      for (const [i, body] of list.entries()) {
        const record = {
          id: await types.nextId(),
          revision: 0,
          name: body.name,
          ...(body.key !== undefined ? { key: body.key } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.colour !== undefined ? { colour: body.colour } : {}),
          ...built[i],
          createdAt: now,
          createdBy: api.user,
          lastModifiedAt: now,
          lastModifiedBy: api.user,
        } as unknown as R;
        await types.put(record, -1);
        created.push(record);
      }
      return { status: 201, body: created.map((t) => kind.json(request.base, t)) };
    });
  };
}

function getType<R extends AnyType>(kind: TypeKind<R>): Endpoint {
  return async (api, request) => ({
    status: 200,
    body: kind.json(request.base, await requireType(api, kind, request.params.typeId)),
  });
}

function updateType<R extends AnyType>(kind: TypeKind<R>): Endpoint {
  return async (api, request) => {
    const body = await objectBody(request);
    const type = await requireType(api, kind, request.params.typeId);
    const patch = check(kind.updateSchema, body) as Partial<R>;
    return locked(api, async () => {
      const name = (patch as { name?: string }).name;
      if (name !== undefined && name !== type.name) {
        const other = await api.service.collection(kind.collection).findBy('name', name);
        if (other && other.id !== type.id) throw alreadyExists();
      }
      const clean = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      return {
        status: 200,
        body: kind.json(request.base, await save(api, kind, type, clean as Partial<R>)),
      };
    });
  };
}

/** Soft while in use (module and set types), refused while in use (target types, 409). */
function deleteType<R extends AnyType>(kind: TypeKind<R>): Endpoint {
  return async (api, request) => {
    const type = await requireType(api, kind, request.params.typeId);
    const users = await kind.users(api, type);
    if (users > 0 && kind.whenUsed === 'refuse')
      throw hawkbitProblem(
        409,
        'targetTypeInUse',
        `Target type ${type.id} is still in use by ${users} target(s)`,
      );
    if (users > 0) await save(api, kind, type, { deleted: true } as Partial<R>);
    else await api.service.collection(kind.collection).delete(type.id);
    return { status: 204 };
  };
}

function typeRoutes<R extends AnyType>(kind: TypeKind<R>): Route[] {
  const base = `/${kind.path}`;
  const one = `${base}/:typeId`;
  return [
    { method: 'GET', path: base, endpoint: listTypes(kind), query: LIST_QUERY },
    {
      method: 'POST',
      path: base,
      endpoint: createTypes(kind),
      body: { schema: kind.createSchema, array: true },
    },
    { method: 'GET', path: one, endpoint: getType(kind) },
    { method: 'PUT', path: one, endpoint: updateType(kind), body: { schema: kind.updateSchema } },
    { method: 'DELETE', path: one, endpoint: deleteType(kind) },
  ];
}

// ---------------------------------------------------------------- a type's list of other types

/** One id list of a type that names other types: a set type's modules, a target type's sets. */
interface Members<R extends AnyType, M extends AnyType> {
  kind: TypeKind<R>;
  member: TypeKind<M>;
  field: 'mandatory' | 'optional' | 'compatible';
  segment: string;
  /** A set type in use by sets may not change its module types (hawkBit's 403). */
  readOnlyWhenUsed: boolean;
}

function listMembers<R extends AnyType, M extends AnyType>(m: Members<R, M>): Endpoint {
  return async (api, request) => {
    const type = await requireType(api, m.kind, request.params.typeId);
    const ids = (type as unknown as Record<string, number[]>)[m.field] ?? [];
    const members: Json[] = [];
    for (const id of ids) {
      const member = await api.service.collection(m.member.collection).get(id);
      if (member) members.push(m.member.json(request.base, member));
    }
    return { status: 200, body: members };
  };
}

function getMember<R extends AnyType, M extends AnyType>(m: Members<R, M>): Endpoint {
  return async (api, request) => {
    const type = await requireType(api, m.kind, request.params.typeId);
    const id = intParam(request.params.memberId, m.member.entity);
    const ids = (type as unknown as Record<string, number[]>)[m.field] ?? [];
    const member = ids.includes(id)
      ? await api.service.collection(m.member.collection).get(id)
      : undefined;
    if (!member) throw notFound(m.member.entity, id);
    return { status: 200, body: m.member.json(request.base, member) };
  };
}

async function changeMembers<R extends AnyType, M extends AnyType>(
  api: ManagementContext,
  m: Members<R, M>,
  type: R,
  ids: number[],
) {
  if (m.readOnlyWhenUsed && (await m.kind.users(api, type)) > 0)
    throw hawkbitProblem(
      403,
      'entityReadOnly',
      `${m.kind.entity} ${type.id} is in use and cannot be changed`,
    );
  await save(api, m.kind, type, { [m.field]: [...new Set(ids)] } as Partial<R>);
}

/** Adds members: one `{ id }` (a set type's module type) or a list of them (a target type's). */
function addMembers<R extends AnyType, M extends AnyType>(
  m: Members<R, M>,
  one: boolean,
): Endpoint {
  return async (api, request) => {
    const type = await requireType(api, m.kind, request.params.typeId);
    const body = await request.json();
    const list = one ? [check(z.object({ id: z.number().int() }), body)] : check(IdList, body);
    const ids = await requireAll(api, m.member.collection, m.member.entity, list);
    const current = (type as unknown as Record<string, number[]>)[m.field] ?? [];
    await locked(api, () => changeMembers(api, m, type, [...current, ...ids]));
    return { status: 204 };
  };
}

function removeMember<R extends AnyType, M extends AnyType>(m: Members<R, M>): Endpoint {
  return async (api, request) => {
    const type = await requireType(api, m.kind, request.params.typeId);
    const id = intParam(request.params.memberId, m.member.entity);
    const current = (type as unknown as Record<string, number[]>)[m.field] ?? [];
    if (!current.includes(id)) throw notFound(m.member.entity, id);
    await locked(api, () =>
      changeMembers(
        api,
        m,
        type,
        current.filter((x) => x !== id),
      ),
    );
    return { status: 204 };
  };
}

function memberRoutes<R extends AnyType, M extends AnyType>(
  m: Members<R, M>,
  one: boolean,
): Route[] {
  const base = `/${m.kind.path}/:typeId/${m.segment}`;
  return [
    { method: 'GET', path: base, endpoint: listMembers(m) },
    {
      method: 'POST',
      path: base,
      endpoint: addMembers(m, one),
      body: one ? { schema: z.object({ id: z.number().int() }) } : { schema: IdList },
    },
    ...(one ? [{ method: 'GET' as const, path: `${base}/:memberId`, endpoint: getMember(m) }] : []),
    { method: 'DELETE', path: `${base}/:memberId`, endpoint: removeMember(m) },
  ];
}

/** The lists, by name, for tests and tools that call endpoints directly. */
export const listSoftwareModuleTypes: Endpoint = listTypes(MODULE_TYPE_KIND);
export const listDistributionSetTypes: Endpoint = listTypes(SET_TYPE_KIND);
export const listTargetTypes: Endpoint = listTypes(TARGET_TYPE_KIND);

/** hawkBit's 26 type endpoints (module, set and target types). */
export const typeRouteList: Route[] = [
  ...typeRoutes(MODULE_TYPE_KIND),
  ...typeRoutes(SET_TYPE_KIND),
  ...memberRoutes(
    {
      kind: SET_TYPE_KIND,
      member: MODULE_TYPE_KIND,
      field: 'mandatory',
      segment: 'mandatorymoduletypes',
      readOnlyWhenUsed: true,
    },
    true,
  ),
  ...memberRoutes(
    {
      kind: SET_TYPE_KIND,
      member: MODULE_TYPE_KIND,
      field: 'optional',
      segment: 'optionalmoduletypes',
      readOnlyWhenUsed: true,
    },
    true,
  ),
  ...typeRoutes(TARGET_TYPE_KIND),
  ...memberRoutes(
    {
      kind: TARGET_TYPE_KIND,
      member: SET_TYPE_KIND,
      field: 'compatible',
      segment: 'compatibledistributionsettypes',
      readOnlyWhenUsed: false,
    },
    false,
  ),
];
