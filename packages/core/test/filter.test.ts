import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyListQuery,
  compileFilter,
  compileSortOrder,
  type FieldAccessor,
  type FilterNode,
  type FilterOperator,
  filterDepth,
  ListQuery,
  matchesFilter,
} from '../src/index.js';

interface Row {
  id: number;
  name: string;
  active: boolean;
  note?: string;
}

const rows: Row[] = [
  { id: 1, name: 'Dev-Alpha', active: true, note: 'x' },
  { id: 2, name: 'dev-beta', active: false },
  { id: 10, name: 'gw-gamma', active: true, note: 'y' },
  { id: 20, name: 'DEV-delta', active: false, note: 'x' },
];
const get: FieldAccessor<Row> = (row, field) => row[field as keyof Row];
const cmp = (field: string, op: FilterOperator, ...values: string[]): FilterNode => ({
  kind: 'cmp',
  field,
  op,
  values,
});
const ids = (node: FilterNode) => rows.filter(compileFilter(node, get)).map((r) => r.id);

describe('compileFilter', () => {
  it('compares text case-insensitively, with `*` as a wildcard in == and !=', () => {
    expect(ids(cmp('name', '==', 'dev-*'))).toEqual([1, 2, 20]);
    expect(ids(cmp('name', '==', 'DEV-BETA'))).toEqual([2]);
    expect(ids(cmp('name', '==', '*a*a*'))).toEqual([1, 10]);
    expect(ids(cmp('name', '!=', 'dev-*'))).toEqual([10]);
    expect(ids(cmp('name', '==', 'dev'))).toEqual([]);
  });

  it('compares numbers as numbers, not as text', () => {
    expect(ids(cmp('id', '==', '10'))).toEqual([10]);
    expect(ids(cmp('id', '<', '10'))).toEqual([1, 2]);
    expect(ids(cmp('id', '<=', '10'))).toEqual([1, 2, 10]);
    expect(ids(cmp('id', '>', '2'))).toEqual([10, 20]);
    expect(ids(cmp('id', '>=', '2'))).toEqual([2, 10, 20]);
    // A bound that is no number orders nothing; an empty value is no number either.
    expect(ids(cmp('id', '>', 'abc'))).toEqual([]);
    expect(ids(cmp('id', '==', ''))).toEqual([]);
    expect(ids(cmp('id', '==', '1*'))).toEqual([]);
  });

  it('orders text case-insensitively', () => {
    expect(ids(cmp('name', '<', 'DEV-C'))).toEqual([1, 2]);
    expect(ids(cmp('name', '>=', 'dev-delta'))).toEqual([10, 20]);
  });

  it('compares booleans by their names', () => {
    expect(ids(cmp('active', '==', 'TRUE'))).toEqual([1, 10]);
    expect(ids(cmp('active', '!=', 'true'))).toEqual([2, 20]);
    expect(ids(cmp('active', '==', 'yes'))).toEqual([]);
  });

  it('takes lists in =in= and =out=, literally', () => {
    expect(ids(cmp('id', '=in=', '2', '20', '7'))).toEqual([2, 20]);
    expect(ids(cmp('name', '=in=', 'DEV-ALPHA', 'gw-gamma'))).toEqual([1, 10]);
    expect(ids(cmp('name', '=in=', 'dev-*'))).toEqual([]);
    expect(ids(cmp('id', '=out=', '2', '20'))).toEqual([1, 10]);
  });

  it('counts an empty field as unequal to everything and unordered', () => {
    expect(ids(cmp('note', '==', 'x'))).toEqual([1, 20]);
    expect(ids(cmp('note', '!=', 'x'))).toEqual([2, 10]);
    expect(ids(cmp('note', '=out=', 'x', 'y'))).toEqual([2]);
    expect(ids(cmp('note', '==', '*'))).toEqual([1, 10, 20]);
    expect(ids(cmp('note', '<', 'z'))).toEqual([1, 10, 20]);
    expect(ids(cmp('note', '>=', ''))).toEqual([1, 10, 20]);
  });

  it('combines with and/or', () => {
    const node: FilterNode = {
      kind: 'or',
      nodes: [
        { kind: 'and', nodes: [cmp('name', '==', 'dev*'), cmp('active', '==', 'true')] },
        cmp('id', '>', '15'),
      ],
    };
    expect(ids(node)).toEqual([1, 20]);
    expect(matchesFilter(node, get, rows[2]!)).toBe(false);
    expect(matchesFilter(node, get, rows[0]!)).toBe(true);
  });

  it('agrees with De Morgan: not(a or b) == (not a) and (not b) for == and !=', () => {
    const value = fc.constantFrom('dev*', '*a', 'x', '1', '*');
    const field = fc.constantFrom('name', 'note', 'id');
    fc.assert(
      fc.property(field, value, field, value, (f1, v1, f2, v2) => {
        const or = ids({ kind: 'or', nodes: [cmp(f1, '==', v1), cmp(f2, '==', v2)] });
        const andNot = ids({ kind: 'and', nodes: [cmp(f1, '!=', v1), cmp(f2, '!=', v2)] });
        expect([...or, ...andNot].sort((a, b) => a - b)).toEqual(rows.map((r) => r.id));
      }),
    );
  });
});

describe('the filter schemas', () => {
  it('accept a nested tree and refuse a malformed one', () => {
    const tree = {
      filter: {
        kind: 'and',
        nodes: [cmp('id', '=in=', '1', '2'), { kind: 'or', nodes: [cmp('a', '==', 'b')] }],
      },
      sort: [{ field: 'id', direction: 'DESC' }],
    };
    const parsed = ListQuery.parse(tree);
    expect(parsed).toMatchObject({ offset: 0, limit: 50 });
    expect(filterDepth(parsed.filter!)).toBe(3);
    expect(ListQuery.safeParse({ filter: { kind: 'and', nodes: [] } }).success).toBe(false);
    expect(ListQuery.safeParse({ filter: cmp('id', '=li=' as FilterOperator, 'x') }).success).toBe(
      false,
    );
    expect(
      ListQuery.safeParse({ filter: { kind: 'cmp', field: 'id', op: '==', values: [] } }).success,
    ).toBe(false);
  });

  it('measures depth without recursion, however deep the tree', () => {
    let deep: FilterNode = cmp('id', '==', '1');
    for (let i = 0; i < 100_000; i++) deep = { kind: i % 2 ? 'and' : 'or', nodes: [deep] };
    expect(filterDepth(deep)).toBe(100_001);
  });
});

describe('sort and page', () => {
  it('sorts by several keys, empty fields last when ascending', () => {
    const byNote = [...rows].sort(
      compileSortOrder(
        [
          { field: 'note', direction: 'ASC' },
          { field: 'id', direction: 'DESC' },
        ],
        get,
      ),
    );
    expect(byNote.map((r) => r.id)).toEqual([20, 1, 10, 2]);
    const desc = [...rows].sort(compileSortOrder([{ field: 'note', direction: 'DESC' }], get));
    expect(desc.map((r) => r.id)).toEqual([2, 10, 1, 20]);
  });

  it('filters, sorts and pages in one call', () => {
    const page = applyListQuery(
      rows,
      ListQuery.parse({
        filter: cmp('name', '==', '*-*'),
        sort: [{ field: 'id', direction: 'DESC' }],
        offset: 1,
        limit: 2,
      }),
      get,
    );
    expect(page).toEqual({ items: [rows[2], rows[1]], total: 4 });
    expect(applyListQuery(rows, ListQuery.parse({}), get).total).toBe(4);
  });
});
