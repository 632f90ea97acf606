import { z } from 'zod';

/**
 * The comparison operators of hawkBit's RSQL dialect, in their canonical spelling: a parser maps
 * `=lt=` to `<` and so on, so that a store compiles each meaning once. `==` and `!=` take hawkBit's
 * `*` wildcard; `=in=` and `=out=` compare literally, as hawkBit's SQL `IN` does.
 */
export const FilterOperator = z.enum(['==', '!=', '<', '<=', '>', '>=', '=in=', '=out=']);
export type FilterOperator = z.infer<typeof FilterOperator>;

/** Operators that take a list of values; the others take exactly one. */
export const MULTI_VALUE_OPERATORS: readonly FilterOperator[] = ['=in=', '=out='];

/**
 * One `field op value(s)` test. Values stay the strings the query carried: the field's type (a
 * number, a boolean, text) decides how they compare, in memory as in SQL.
 */
export const FilterComparison = z.object({
  kind: z.literal('cmp'),
  field: z.string().min(1),
  op: FilterOperator,
  values: z.array(z.string()).min(1),
});
export type FilterComparison = z.infer<typeof FilterComparison>;

export interface FilterLogic {
  kind: 'and' | 'or';
  nodes: FilterNode[];
}

/** A filter is plain data, so that the same tree runs in memory and compiles to SQL. */
export type FilterNode = FilterComparison | FilterLogic;

export const FilterLogic: z.ZodType<FilterLogic> = z.object({
  kind: z.enum(['and', 'or']),
  get nodes() {
    return z.array(FilterNode).min(1);
  },
});

export const FilterNode: z.ZodType<FilterNode> = z.union([FilterComparison, FilterLogic]);

/** One `sort=field:DIR` term. */
export const SortKey = z.object({
  field: z.string().min(1),
  direction: z.enum(['ASC', 'DESC']),
});
export type SortKey = z.infer<typeof SortKey>;

/** What a list asks a store for: an optional filter, an order, and one page of it. */
export const ListQuery = z.object({
  filter: FilterNode.optional(),
  sort: z.array(SortKey).default([]),
  offset: z.number().int().nonnegative().default(0),
  limit: z.number().int().positive().default(50),
});
export type ListQuery = z.infer<typeof ListQuery>;

/**
 * How many and/or levels a tree has (a lone comparison is 1). Iterative, so that a store can check
 * a tree it did not build before recursing over it.
 */
export function filterDepth(root: FilterNode): number {
  let deepest = 0;
  const stack: [FilterNode, number][] = [[root, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [node, depth] = top;
    if (depth > deepest) deepest = depth;
    if (node.kind !== 'cmp') for (const child of node.nodes) stack.push([child, depth + 1]);
  }
  return deepest;
}
