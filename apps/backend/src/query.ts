/**
 * hawkBit's collection parameters: `offset`/`limit` paging, `sort=field:DIR,...` and its RSQL/FIQL
 * filter `q`, parsed by `@rsql/parser` into core's filter tree (plain data a store compiles). The
 * operators are ==, != (both with `*` wildcards), <, <=, >, >= (or =lt=, =le=, =gt=, =ge=), =in=,
 * =out=, and =li= (a `==` where `%` is a wildcard too); `;`/`and`, `,`/`or`, parentheses. Field
 * names are case-insensitive, as hawkBit resolves them.
 */

import {
  applyListQuery,
  compileFilter as compileFilterNode,
  compileSortOrder,
  type FieldAccessor,
  type FilterComparison,
  type FilterNode,
  type FilterOperator,
  type ListQuery,
  MULTI_VALUE_OPERATORS,
  type SortKey,
} from '@otaflow/core';
import type { ComparisonNode, ExpressionNode, LogicNode } from '@rsql/ast';
import { parse } from '@rsql/parser';

export type FieldValue = string | number | boolean | undefined;
export type FieldMap<T> = Record<string, (item: T) => FieldValue>;

export class QueryError extends Error {
  constructor(
    readonly errorCode:
      | 'hawkbit.server.error.rest.param.rsqlParamSyntax'
      | 'hawkbit.server.error.rest.param.rsqlInvalidField'
      | 'hawkbit.server.error.rest.param.sortParamSyntax'
      | 'hawkbit.server.error.rest.param.invalidField'
      | 'hawkbit.server.error.rest.param.invalidDirection',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The longest `q` accepted, in characters: about what fits in a URL that proxies pass, and enough
 * for an `=in=` list of a few hundred controller ids.
 */
export const MAX_QUERY_LENGTH = 8192;

/**
 * The deepest parenthesis nesting accepted. It also bounds the depth of the tree a store recurses
 * over: and/or can only alternate inside parentheses.
 */
export const MAX_QUERY_NESTING = 32;

export interface Paging {
  offset: number;
  limit: number;
}

/** hawkBit never fails on paging values: it clamps them. */
export function pagingOf(params: URLSearchParams): Paging {
  const offset = Number.parseInt(params.get('offset') ?? '', 10);
  const limit = Number.parseInt(params.get('limit') ?? '', 10);
  return {
    offset: Number.isFinite(offset) && offset > 0 ? offset : 0,
    limit: !Number.isFinite(limit) || limit < 1 ? 50 : Math.min(limit, 500),
  };
}

const syntax = (message: string) =>
  new QueryError('hawkbit.server.error.rest.param.rsqlParamSyntax', message);

/** Resolves field names case-insensitively to the map's own spelling, which the tree carries. */
function fieldResolver<T>(fields: FieldMap<T>): (name: string) => string | undefined {
  const byLower = new Map(Object.keys(fields).map((key) => [key.toLowerCase(), key]));
  return (name) => byLower.get(name.toLowerCase());
}

const OPERATORS: Record<string, FilterOperator> = {
  '==': '==',
  '!=': '!=',
  '<': '<',
  '=lt=': '<',
  '<=': '<=',
  '=le=': '<=',
  '>': '>',
  '=gt=': '>',
  '>=': '>=',
  '=ge=': '>=',
  '=in=': '=in=',
  '=out=': '=out=',
};

/**
 * Refuses what would make parsing or evaluation costly before the parser sees it: an over-long
 * query, or parentheses nested deeper than the limit (quoted values do not count).
 */
function guard(q: string): void {
  if (q.length > MAX_QUERY_LENGTH)
    throw syntax(
      `RSQL query is ${q.length} characters long; at most ${MAX_QUERY_LENGTH} are accepted`,
    );
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < q.length; i++) {
    const ch = q[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(' && ++depth > MAX_QUERY_NESTING)
      throw syntax(`RSQL query nests deeper than ${MAX_QUERY_NESTING} parentheses`);
    else if (ch === ')') depth--;
  }
}

function comparisonOf(
  node: ComparisonNode,
  resolve: (name: string) => string | undefined,
): FilterComparison {
  const name = node.left.selector;
  const field = resolve(name);
  if (!field)
    throw new QueryError(
      'hawkbit.server.error.rest.param.rsqlInvalidField',
      `unknown field ${name}`,
    );
  const raw = node.right.value;
  const values = typeof raw === 'string' ? [raw] : [...raw];
  // `=li=` is `==` with SQL's `%` as a second spelling of the wildcard.
  if (node.operator === '=li=') {
    if (values.length !== 1) throw syntax(`=li= takes one value, not ${values.length}`);
    return { kind: 'cmp', field, op: '==', values: [(values[0] ?? '').replaceAll('%', '*')] };
  }
  const op = OPERATORS[node.operator];
  if (!op) throw syntax(`unknown RSQL operator ${node.operator}`);
  if (values.length !== 1 && !MULTI_VALUE_OPERATORS.includes(op))
    throw syntax(`${node.operator} takes one value, not ${values.length}`);
  return { kind: 'cmp', field, op, values };
}

const kindOf = (node: LogicNode): 'and' | 'or' =>
  node.operator === ';' || node.operator === 'and' ? 'and' : 'or';

/**
 * The parser answers `a,b,c,...` as a left-leaning chain as deep as the list is long; this gathers
 * each chain of one operator into a single and/or node, with an explicit stack. What remains to
 * recurse on is one level per alternation of and/or, which the nesting limit bounds.
 */
function treeOf(root: ExpressionNode, resolve: (name: string) => string | undefined): FilterNode {
  if (root.type === 'COMPARISON') return comparisonOf(root, resolve);
  const kind = kindOf(root);
  const nodes: FilterNode[] = [];
  const stack: ExpressionNode[] = [root];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.type === 'LOGIC' && kindOf(node) === kind) stack.push(node.right, node.left);
    else nodes.push(treeOf(node, resolve));
  }
  return { kind, nodes };
}

/** Parses `q` into core's filter tree; bad syntax, limits and unknown fields throw a `QueryError`. */
export function parseFilter<T>(q: string, fields: FieldMap<T>): FilterNode {
  return parseFilterWith(q, fieldResolver(fields));
}

function parseFilterWith(q: string, resolve: (name: string) => string | undefined): FilterNode {
  guard(q);
  let ast: ExpressionNode;
  try {
    ast = parse(q);
  } catch (error) {
    throw syntax(`RSQL syntax error: ${error instanceof Error ? error.message : String(error)}`);
  }
  return treeOf(ast, resolve);
}

const accessorOf =
  <T>(fields: FieldMap<T>): FieldAccessor<T> =>
  (item, field) =>
    fields[field]?.(item);

/** Compiles `q` into a predicate; unknown fields and bad syntax throw a `QueryError`. */
export function compileFilter<T>(q: string, fields: FieldMap<T>): (item: T) => boolean {
  return compileFilterNode(parseFilter(q, fields), accessorOf(fields));
}

/** Parses `sort=field:DIR,...` into sort keys naming the map's fields. */
export function parseSort<T>(sort: string, fields: FieldMap<T>): SortKey[] {
  return parseSortWith(sort, fieldResolver(fields));
}

function parseSortWith(sort: string, resolve: (name: string) => string | undefined): SortKey[] {
  return sort.split(',').map((term) => {
    const pieces = term.split(':');
    if (pieces.length !== 2 || !pieces[0] || !pieces[1]) {
      throw new QueryError(
        'hawkbit.server.error.rest.param.sortParamSyntax',
        `sort term '${term}' is not field:ASC|DESC`,
      );
    }
    const field = resolve(pieces[0].trim());
    if (!field)
      throw new QueryError(
        'hawkbit.server.error.rest.param.invalidField',
        `unknown sort field ${pieces[0]}`,
      );
    const direction = pieces[1].trim().toUpperCase();
    if (direction !== 'ASC' && direction !== 'DESC') {
      throw new QueryError(
        'hawkbit.server.error.rest.param.invalidDirection',
        `sort direction ${pieces[1]} is not ASC or DESC`,
      );
    }
    return { field, direction };
  });
}

/** Compiles `sort=field:DIR,...`; an empty value means the caller's default. */
export function compileSort<T>(sort: string, fields: FieldMap<T>): (a: T, b: T) => number {
  return compileSortOrder(parseSort(sort, fields), accessorOf(fields));
}

/** The list a request asks for, as plain data a store can run: filter, sort and page. */
export function listQueryOf<T>(
  params: URLSearchParams,
  fields: FieldMap<T>,
  defaultSort: string,
  options: { allowQ?: boolean } = {},
): ListQuery {
  const q = options.allowQ === false ? null : params.get('q');
  const filter = q ? parseFilter(q, fields) : undefined;
  return {
    ...(filter ? { filter } : {}),
    sort: parseSort(params.get('sort') || defaultSort, fields),
    ...pagingOf(params),
  };
}

/** Filter, sort and page in memory, answering hawkBit's `{content,total,size}` inputs. */
export function queryList<T>(
  all: readonly T[],
  params: URLSearchParams,
  fields: FieldMap<T>,
  defaultSort: string,
  options: { allowQ?: boolean } = {},
): { items: T[]; total: number } {
  return applyListQuery(all, listQueryOf(params, fields, defaultSort, options), accessorOf(fields));
}

/**
 * A list's hawkBit field names, each naming the store's list field it reads (core's
 * `TARGET_LIST_FIELDS` and siblings), so that the store filters, sorts and pages. A `prefixes`
 * entry maps an open-ended family, e.g. hawkBit's `attribute.<key>` onto the store's attribute
 * map; the key keeps its case.
 */
export interface StoreFieldNames {
  fields: Readonly<Record<string, string>>;
  prefixes?: Readonly<Record<string, string>>;
  /** hawkBit names a filter may test but a sort may not (a target's tags: several per target). */
  filterOnly?: readonly string[];
}

/** Resolves hawkBit names case-insensitively to the store's names. */
function storeResolver(names: StoreFieldNames): (name: string) => string | undefined {
  const byLower = new Map(Object.entries(names.fields).map(([k, v]) => [k.toLowerCase(), v]));
  const prefixes = Object.entries(names.prefixes ?? {}).map(
    ([k, v]) => [`${k.toLowerCase()}.`, v] as const,
  );
  return (name) => {
    const direct = byLower.get(name.toLowerCase());
    if (direct) return direct;
    for (const [prefix, field] of prefixes)
      if (name.length > prefix.length && name.slice(0, prefix.length).toLowerCase() === prefix)
        return `${field}.${name.slice(prefix.length)}`;
    return undefined;
  };
}

/**
 * The list a request asks for, in the store's field names: what the service's list methods take,
 * so that no list endpoint loads a whole table. Errors are the `QueryError`s hawkBit answers.
 */
/** An RSQL filter over a store's fields (a rollout's or a target filter's query). */
export function storeFilter(q: string, names: StoreFieldNames): FilterNode {
  return parseFilterWith(q, storeResolver(names));
}

export function storeListQuery(
  params: URLSearchParams,
  names: StoreFieldNames,
  defaultSort: string,
  options: { allowQ?: boolean } = {},
): ListQuery {
  const resolve = storeResolver(names);
  const q = options.allowQ === false ? null : params.get('q');
  const filter = q ? parseFilterWith(q, resolve) : undefined;
  const filterOnly = new Set((names.filterOnly ?? []).map((name) => resolve(name)));
  const sortable = (name: string) => {
    const field = resolve(name);
    return field !== undefined && !filterOnly.has(field) ? field : undefined;
  };
  return {
    ...(filter ? { filter } : {}),
    sort: parseSortWith(params.get('sort') || defaultSort, sortable),
    ...pagingOf(params),
  };
}

/** `q` alone, in the store's field names: for a filter that selects rather than lists. */
export function parseStoreFilter(q: string, names: StoreFieldNames): FilterNode {
  return parseFilterWith(q, storeResolver(names));
}
