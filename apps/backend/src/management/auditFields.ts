import { compileFilter, type FilterNode, type ListQuery } from '@otaflow/core';

/**
 * hawkBit's `createdBy` and `lastModifiedBy` on targets: otaflow's one user made and changed
 * everything (the audit fields of `representations.ts`), so a test on them holds for every target
 * or for none, decided here; the store sees a test that matches all or nothing instead.
 */
const AUDIT_FIELDS = new Set(['createdBy', 'lastModifiedBy']);

const EVERY: FilterNode = { kind: 'cmp', field: 'controllerId', op: '==', values: ['*'] };
const NONE: FilterNode = {
  kind: 'and',
  nodes: [EVERY, { kind: 'cmp', field: 'controllerId', op: '!=', values: ['*'] }],
};

/** The filter with each audit test replaced by its answer for `user`. */
export function resolveAuditFilter(node: FilterNode, user: string): FilterNode {
  if (node.kind !== 'cmp')
    return { kind: node.kind, nodes: node.nodes.map((child) => resolveAuditFilter(child, user)) };
  if (!AUDIT_FIELDS.has(node.field)) return node;
  return compileFilter(node, () => user)(undefined) ? EVERY : NONE;
}

/** The query with its audit tests answered and its audit sort keys (the same for all) dropped. */
export function resolveAuditFields(query: ListQuery, user: string): ListQuery {
  const sort = query.sort.filter((key) => !AUDIT_FIELDS.has(key.field));
  return query.filter
    ? { ...query, filter: resolveAuditFilter(query.filter, user), sort }
    : { ...query, sort };
}
