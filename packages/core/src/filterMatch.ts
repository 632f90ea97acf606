import type { FilterComparison, FilterNode } from './filter.js';
import { foldCase, matchWildcard } from './filterWildcard.js';

/** What a record holds in a filterable field; `undefined` or `null` when it holds nothing. */
export type FilterValue = string | number | boolean | null | undefined;

/**
 * What a field reads: one value, or several for a field a record has many of (a target's tag
 * names). A test on several holds when it holds for one of them; `!=` and `=out=` when `==` and
 * `=in=` hold for none, as hawkBit's NOT EXISTS over a joined collection.
 */
export type FieldValues = FilterValue | readonly FilterValue[];

/** Reads one field of a record, by the field name the filter carries. */
export type FieldAccessor<T> = (record: T, field: string) => FieldValues;

const anyOf = (actual: FieldValues, test: (value: FilterValue) => boolean): boolean =>
  Array.isArray(actual) ? actual.some(test) : test(actual as FilterValue);

/** A strict number: `Number('')` is 0, which would make `id==""` find id 0. */
function numberOf(value: string): number {
  return value.trim() === '' ? Number.NaN : Number(value);
}

/** A filter value prepared once per filter, not once per record. */
interface Wanted {
  folded: string;
  number: number;
  wildcard: boolean;
}

const wantedOf = (value: string, wildcards: boolean): Wanted => {
  const folded = foldCase(value);
  return { folded, number: numberOf(value), wildcard: wildcards && folded.includes('*') };
};

/** hawkBit's equality: typed by the field, text case-insensitive, `*` a wildcard in text. */
function equalsValue(actual: FilterValue, wanted: Wanted): boolean {
  if (actual === undefined || actual === null) return false;
  if (typeof actual === 'number') return actual === wanted.number;
  if (typeof actual === 'boolean') return String(actual) === wanted.folded;
  const text = foldCase(actual);
  return wanted.wildcard ? matchWildcard(wanted.folded, text) : text === wanted.folded;
}

/**
 * The ordering `<`, `<=`, `>`, `>=` use: numbers numerically, anything else as case-insensitive
 * text. `undefined` when the two cannot be ordered (an empty field, a non-numeric bound for a
 * number), so that no ordering test holds, as SQL's NULL comparisons do not.
 */
export function compareFilterValue(actual: FilterValue, wanted: string): number | undefined {
  if (actual === undefined || actual === null) return undefined;
  if (typeof actual === 'number') {
    const bound = numberOf(wanted);
    return Number.isFinite(bound) ? actual - bound : undefined;
  }
  const left = foldCase(String(actual));
  const right = foldCase(wanted);
  return left < right ? -1 : left > right ? 1 : 0;
}

function comparisonOf<T>(node: FilterComparison, get: FieldAccessor<T>): (record: T) => boolean {
  const { field, values } = node;
  const first = values[0] ?? '';
  const pattern = wantedOf(first, true);
  const list = values.map((value) => wantedOf(value, false));
  const equals = (value: FilterValue) => equalsValue(value, pattern);
  const listed = (value: FilterValue) => list.some((wanted) => equalsValue(value, wanted));
  const ordered = (test: (order: number) => boolean) => (record: T) =>
    anyOf(get(record, field), (value) => {
      const order = compareFilterValue(value, first);
      return order !== undefined && test(order);
    });
  switch (node.op) {
    case '==':
      return (record) => anyOf(get(record, field), equals);
    // hawkBit's `!=` and `=out=` include records with the field empty (`<> OR IS NULL`).
    case '!=':
      return (record) => !anyOf(get(record, field), equals);
    case '=in=':
      return (record) => anyOf(get(record, field), listed);
    case '=out=':
      return (record) => !anyOf(get(record, field), listed);
    case '<':
      return ordered((order) => order < 0);
    case '<=':
      return ordered((order) => order <= 0);
    case '>':
      return ordered((order) => order > 0);
    case '>=':
      return ordered((order) => order >= 0);
  }
}

/**
 * Turns a filter into a predicate over records read through `get`. The tree is walked once here,
 * not per record. Recursion follows the tree's depth, which the parser that built it bounds.
 */
export function compileFilter<T>(node: FilterNode, get: FieldAccessor<T>): (record: T) => boolean {
  if (node.kind === 'cmp') return comparisonOf(node, get);
  const parts = node.nodes.map((child) => compileFilter(child, get));
  return node.kind === 'and'
    ? (record) => parts.every((part) => part(record))
    : (record) => parts.some((part) => part(record));
}

/** Whether one record passes a filter; for many records, compile once with `compileFilter`. */
export function matchesFilter<T>(node: FilterNode, get: FieldAccessor<T>, record: T): boolean {
  return compileFilter(node, get)(record);
}
