import {
  DEFAULT_DISTRIBUTION_SET_TYPES,
  DEFAULT_SOFTWARE_MODULE_TYPES,
  DISTRIBUTION_SET_TYPES,
  type DistributionSet,
  type DistributionSetTypeRecord,
  type FilterNode,
  KeyedLock,
  SOFTWARE_MODULE_TYPES,
  type SoftwareModule,
  type SoftwareModuleTypeRecord,
  TARGET_TYPES,
  type UpdateService,
} from '@otaflow/core';
import { hawkbitProblem, notFound } from './Problem.js';

/** The tenant's module and set types, read together: a few dozen records at most. */
export interface TypeCatalogue {
  moduleTypes: readonly SoftwareModuleTypeRecord[];
  setTypes: readonly DistributionSetTypeRecord[];
  moduleType(key: string): SoftwareModuleTypeRecord | undefined;
  setType(key: string): DistributionSetTypeRecord | undefined;
}

const seeded = new WeakMap<UpdateService, Promise<void>>();
const seeding = new KeyedLock();

/**
 * hawkBit's defaults for a tenant that has no types yet, written once: module types first (the
 * set types name them by id). Keys are looked up before each write, so a second process that
 * raced this one finds them instead of writing them twice.
 */
async function seedDefaults(service: UpdateService, user: string): Promise<void> {
  await seeding.run('types', async () => {
    const modules = service.collection(SOFTWARE_MODULE_TYPES);
    const sets = service.collection(DISTRIBUTION_SET_TYPES);
    const now = Date.now();
    const audit = { createdAt: now, createdBy: user, lastModifiedAt: now, lastModifiedBy: user };
    const idOf = new Map<string, number>();
    for (const t of DEFAULT_SOFTWARE_MODULE_TYPES) {
      let found = await modules.findBy('key', t.key);
      if (!found) {
        found = { id: await modules.nextId(), revision: 0, minArtifacts: 0, ...t, ...audit };
        await modules.put(found, -1);
      }
      idOf.set(t.key, found.id);
    }
    for (const t of DEFAULT_DISTRIBUTION_SET_TYPES) {
      if (await sets.findBy('key', t.key)) continue;
      await sets.put(
        {
          id: await sets.nextId(),
          revision: 0,
          key: t.key,
          name: t.name,
          description: t.description,
          mandatory: t.mandatory.map((k) => idOf.get(k) ?? 0),
          optional: t.optional.map((k) => idOf.get(k) ?? 0),
          ...audit,
        },
        -1,
      );
    }
  });
}

/** The types, hawkBit's defaults written first on a new store. */
export async function typeCatalogue(
  service: UpdateService,
  user = 'system',
): Promise<TypeCatalogue> {
  let once = seeded.get(service);
  if (!once) {
    once = seedDefaults(service, user);
    seeded.set(service, once);
    once.catch(() => seeded.delete(service));
  }
  await once;
  const [moduleTypes, setTypes] = await Promise.all([
    service.collection(SOFTWARE_MODULE_TYPES).list(),
    service.collection(DISTRIBUTION_SET_TYPES).list(),
  ]);
  const byKey = <T extends { key: string; deleted?: boolean | undefined }>(all: readonly T[]) =>
    new Map(all.map((t) => [t.key, t]));
  const modules = byKey(moduleTypes.items);
  const sets = byKey(setTypes.items);
  return {
    moduleTypes: moduleTypes.items,
    setTypes: setTypes.items,
    moduleType: (key) => modules.get(key),
    setType: (key) => sets.get(key),
  };
}

/** Whether a set holds a module of every mandatory module type of its set type. */
export function isComplete(
  types: TypeCatalogue,
  set: DistributionSet,
  modules: readonly SoftwareModule[],
): boolean {
  const type = types.setType(set.type);
  if (!type || modules.length === 0) return false;
  const keyOf = new Map(types.moduleTypes.map((t) => [t.id, t.key]));
  return type.mandatory.every((id) => modules.some((m) => m.type === keyOf.get(id)));
}

/** The module type keys a set type admits: its mandatory and optional ones. */
export function admittedModuleTypes(types: TypeCatalogue, setType: DistributionSetTypeRecord) {
  const keyOf = new Map(types.moduleTypes.map((t) => [t.id, t.key]));
  return new Set([...setType.mandatory, ...setType.optional].map((id) => keyOf.get(id)));
}

/**
 * hawkBit's rules for the modules of a set, in the order they are added: each of a type the set's
 * type admits (400 `unsupportedModule`) and not deleted; a module whose type is at its
 * `maxAssignments` already replaces the earliest of that type (as hawkBit's `addModule` does).
 * Answers the modules the set ends up with.
 */
export function fitModules(
  types: TypeCatalogue,
  setTypeKey: string,
  modules: readonly SoftwareModule[],
): SoftwareModule[] {
  const setType = types.setType(setTypeKey);
  if (!setType || setType.deleted) throw notFound('DistributionSetType', setTypeKey);
  const admitted = admittedModuleTypes(types, setType);
  const fitted: SoftwareModule[] = [];
  for (const module of modules) {
    if (fitted.some((m) => m.id === module.id)) continue;
    if (module.deleted)
      throw hawkbitProblem(404, 'deleted', `SoftwareModule ${module.id} is soft deleted`);
    if (!admitted.has(module.type))
      throw hawkbitProblem(
        400,
        'unsupportedModule',
        `Software module type ${module.type} is not supported by distribution set type ${setTypeKey}`,
      );
    const max = types.moduleType(module.type)?.maxAssignments ?? Number.POSITIVE_INFINITY;
    const sameType = fitted.filter((m) => m.type === module.type);
    if (sameType.length >= max) fitted.splice(fitted.indexOf(sameType[0] as SoftwareModule), 1);
    fitted.push(module);
  }
  return fitted;
}

/**
 * The targets a set may go to, as a store filter: those of a type that accepts the set's type,
 * or of no type (hawkBit's rollouts and auto-assignments take only these); undefined for all.
 */
export async function compatibleTargets(
  service: UpdateService,
  set: DistributionSet,
): Promise<FilterNode | undefined> {
  const setType = (await typeCatalogue(service)).setType(set.type);
  const all = await service.collection(TARGET_TYPES).list();
  const refused = all.items.filter((t) => !setType || !t.compatible.includes(setType.id));
  if (refused.length === 0) return undefined;
  return {
    kind: 'cmp',
    field: 'targetType',
    op: '=out=',
    values: refused.map((t) => String(t.id)),
  };
}
