import type { ListQuery } from './filter.js';
import {
  type ListRequest,
  listQueryOf,
  namesRelatedField,
  TARGET_LIST_FIELDS,
  type TargetRelations,
} from './listFields.js';
import { METADATA, metadataScope } from './metadata.js';
import { TAG_ASSIGNMENTS, TARGET_TAGS, tagScope } from './tags.js';
import type { UpdateStore } from './UpdateStore.js';

/**
 * A target's tags, metadata and sets as one in-memory store sees them, for the target list fields
 * that read beyond the record. Every tag, assignment, entry and set is read: a memory store holds
 * them all in memory anyway. Undefined when the query names no such field.
 */
export async function loadTargetRelations(
  store: UpdateStore,
  request: ListRequest | ListQuery | undefined,
): Promise<TargetRelations | undefined> {
  if (!namesRelatedField(TARGET_LIST_FIELDS, listQueryOf(request))) return undefined;
  const tags = new Map<string, string>();
  for (const tag of (await store.collection(TARGET_TAGS).list()).items)
    tags.set(tagScope.target(tag.id), tag.name);
  const tagNames = new Map<string, string[]>();
  for (const assignment of (await store.collection(TAG_ASSIGNMENTS).list()).items) {
    const name = tags.get(assignment.scope);
    if (name === undefined) continue;
    const names = tagNames.get(assignment.member) ?? [];
    names.push(name);
    tagNames.set(assignment.member, names);
  }
  const metadata = new Map<string, Map<string, string>>();
  for (const entry of (await store.collection(METADATA).list()).items) {
    let entries = metadata.get(entry.scope);
    if (!entries) {
      entries = new Map();
      metadata.set(entry.scope, entries);
    }
    // The oldest entry of a key wins, as SQL's first row by id does.
    if (!entries.has(entry.key)) entries.set(entry.key, entry.value);
  }
  const sets = new Map((await store.listDistributionSets()).items.map((set) => [set.id, set]));
  return {
    tagNames: (controllerId) => tagNames.get(controllerId) ?? [],
    metadataValue: (controllerId, key) =>
      metadata.get(metadataScope.target(controllerId))?.get(key),
    distributionSet: (id) => sets.get(id),
  };
}
