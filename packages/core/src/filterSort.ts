import type { ListQuery, SortKey } from './filter.js';
import { compileFilter, type FieldAccessor, type FieldValues } from './filterMatch.js';
import type { Page } from './UpdateStore.js';

/**
 * A comparator for `sort`: each key in turn, values compared as they are (numbers numerically,
 * text by code unit), and an empty field after every value when ascending, before when descending.
 */
export function compileSortOrder<T>(
  sort: readonly SortKey[],
  get: FieldAccessor<T>,
): (a: T, b: T) => number {
  const keys = sort.map(({ field, direction }) => ({ field, sign: direction === 'ASC' ? 1 : -1 }));
  // A field of several values has no place in an order (stores refuse to sort by one).
  const scalar = (value: FieldValues) => (Array.isArray(value) ? undefined : (value ?? undefined));
  return (a, b) => {
    for (const { field, sign } of keys) {
      const x = scalar(get(a, field));
      const y = scalar(get(b, field));
      if (x === y) continue;
      if (x === undefined) return sign;
      if (y === undefined) return -sign;
      return (x < y ? -1 : 1) * sign;
    }
    return 0;
  };
}

/** Filter, sort and page records in memory: what an in-memory store answers for a list. */
export function applyListQuery<T>(
  records: readonly T[],
  query: ListQuery,
  get: FieldAccessor<T>,
): Page<T> {
  const matching = query.filter ? records.filter(compileFilter(query.filter, get)) : [...records];
  matching.sort(compileSortOrder(query.sort, get));
  return {
    items: matching.slice(query.offset, query.offset + query.limit),
    total: matching.length,
  };
}
