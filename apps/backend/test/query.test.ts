import { describe, expect, it } from 'vitest';
import {
  compileFilter,
  compileSort,
  type FieldMap,
  listQueryOf,
  MAX_QUERY_LENGTH,
  MAX_QUERY_NESTING,
  parseFilter,
  QueryError,
  queryList,
} from '../src/query.js';

interface Device {
  controllerId: string;
  weight: number;
  active: boolean;
  group?: string;
}

const devices: Device[] = [
  { controllerId: 'dev-1', weight: 100, active: true, group: 'north' },
  { controllerId: 'DEV-2', weight: 500, active: false, group: 'south' },
  { controllerId: 'gw-3', weight: 1000, active: true },
  { controllerId: 'dev-10', weight: 0, active: false, group: 'North' },
  { controllerId: 'a'.repeat(256), weight: 7, active: true, group: 'long' },
];

const fields: FieldMap<Device> = {
  controllerId: (d) => d.controllerId,
  weight: (d) => d.weight,
  active: (d) => d.active,
  group: (d) => d.group,
};

const params = (query: Record<string, string>) => new URLSearchParams(query);
const ids = (q: string, sort = 'controllerId:ASC') =>
  queryList(devices, params({ q, sort, limit: '500' }), fields, 'controllerId:ASC').items.map(
    (d) => d.controllerId,
  );
const errorOf = (run: () => unknown): QueryError => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(QueryError);
    return error as QueryError;
  }
  throw new Error('no QueryError thrown');
};
const filterError = (q: string) => errorOf(() => ids(q)).errorCode;

describe('q: every operator', () => {
  it('== and != with hawkBit wildcards, case-insensitive', () => {
    expect(ids('controllerId==dev-*')).toEqual(['DEV-2', 'dev-1', 'dev-10']);
    expect(ids('controllerId==DEV-1')).toEqual(['dev-1']);
    expect(ids('controllerId==*-1*')).toEqual(['dev-1', 'dev-10']);
    expect(ids('controllerId!=dev-*')).toEqual(['a'.repeat(256), 'gw-3']);
    // Sorting compares code units, as before: upper case first.
    expect(ids('group!=north')).toEqual(['DEV-2', 'a'.repeat(256), 'gw-3']);
  });

  it('orders numbers as numbers, in both spellings', () => {
    expect(ids('weight<100', 'weight:ASC')).toEqual(['dev-10', 'a'.repeat(256)]);
    expect(ids('weight=lt=100', 'weight:ASC')).toEqual(['dev-10', 'a'.repeat(256)]);
    expect(ids('weight<=100', 'weight:ASC')).toEqual(['dev-10', 'a'.repeat(256), 'dev-1']);
    expect(ids('weight=le=100', 'weight:ASC')).toEqual(['dev-10', 'a'.repeat(256), 'dev-1']);
    expect(ids('weight>500', 'weight:ASC')).toEqual(['gw-3']);
    expect(ids('weight=gt=500', 'weight:ASC')).toEqual(['gw-3']);
    expect(ids('weight>=500', 'weight:ASC')).toEqual(['DEV-2', 'gw-3']);
    expect(ids('weight=ge=500', 'weight:ASC')).toEqual(['DEV-2', 'gw-3']);
    expect(ids('weight==1000')).toEqual(['gw-3']);
  });

  it('orders text case-insensitively and never matches an empty field', () => {
    expect(ids('group>=north')).toEqual(['DEV-2', 'dev-1', 'dev-10']);
    expect(ids('group<m')).toEqual(['a'.repeat(256)]);
  });

  it('=in= and =out= take lists', () => {
    expect(ids('controllerId=in=(dev-1,gw-3)')).toEqual(['dev-1', 'gw-3']);
    expect(ids('controllerId=in=dev-2')).toEqual(['DEV-2']);
    expect(ids('weight=out=(0,7,100)')).toEqual(['DEV-2', 'gw-3']);
    // An empty field is outside any list, as in hawkBit.
    expect(ids('group=out=(north,south,long)')).toEqual(['gw-3']);
  });

  it('=li= takes % as a wildcard', () => {
    expect(ids('controllerId=li=dev-%0')).toEqual(['dev-10']);
  });

  it('compares booleans by name', () => {
    expect(ids('active==TRUE;weight<1000')).toEqual(['a'.repeat(256), 'dev-1']);
  });

  it('combines with ;/and, ,/or and parentheses, and binding tighter than or', () => {
    expect(ids('controllerId==dev-1,controllerId==gw-3;active==false')).toEqual(['dev-1']);
    expect(ids('(controllerId==dev-1,controllerId==gw-3);active==true')).toEqual(['dev-1', 'gw-3']);
    expect(ids('controllerId==dev-1 or weight>600 and active==true')).toEqual(['dev-1', 'gw-3']);
    expect(ids('controllerId == "dev-1" ; group==\'north\'')).toEqual(['dev-1']);
  });

  it('resolves field names case-insensitively, into the map spelling', () => {
    expect(ids('CONTROLLERID==gw-3')).toEqual(['gw-3']);
    expect(parseFilter('WEIGHT=ge=3', fields)).toEqual({
      kind: 'cmp',
      field: 'weight',
      op: '>=',
      values: ['3'],
    });
  });

  it('builds flat and/or nodes, however long the chain', () => {
    expect(parseFilter('weight==1,weight==2;weight==3,weight==4', fields)).toEqual({
      kind: 'or',
      nodes: [
        { kind: 'cmp', field: 'weight', op: '==', values: ['1'] },
        {
          kind: 'and',
          nodes: [
            { kind: 'cmp', field: 'weight', op: '==', values: ['2'] },
            { kind: 'cmp', field: 'weight', op: '==', values: ['3'] },
          ],
        },
        { kind: 'cmp', field: 'weight', op: '==', values: ['4'] },
      ],
    });
    const chain = Array.from({ length: 600 }, (_, i) => `weight==${i}`).join(',');
    expect(chain.length).toBeLessThanOrEqual(MAX_QUERY_LENGTH);
    const tree = parseFilter(chain, fields);
    expect(tree.kind === 'or' && tree.nodes.length).toBe(600);
    expect(ids(chain)).toEqual(['DEV-2', 'a'.repeat(256), 'dev-1', 'dev-10']);
  });
});

describe('q: refusals in hawkBit form', () => {
  it('answers an unknown field with rsqlInvalidField', () => {
    expect(filterError('shoeSize==3')).toBe('hawkbit.server.error.rest.param.rsqlInvalidField');
  });

  it('answers malformed queries with rsqlParamSyntax', () => {
    for (const q of [
      'controllerId=',
      'controllerId==',
      'controllerId==a;',
      '(controllerId==a',
      'controllerId==a)',
      'controllerId=foo=a',
      'controllerId==(a,b)',
      'controllerId=in=()',
      'controllerId==a b',
      'controllerId==a AND weight==1',
    ])
      expect(filterError(q), q).toBe('hawkbit.server.error.rest.param.rsqlParamSyntax');
  });

  it('refuses 5,000 nested parentheses with a 400, not a stack overflow', () => {
    const q = `${'('.repeat(5000)}controllerId==dev-1${')'.repeat(5000)}`;
    expect(filterError(q)).toBe('hawkbit.server.error.rest.param.rsqlParamSyntax');
    // Within the length limit, the nesting limit answers.
    const deep = (n: number) => `${'('.repeat(n)}controllerId==dev-1${')'.repeat(n)}`;
    expect(deep(1000).length).toBeLessThanOrEqual(MAX_QUERY_LENGTH);
    expect(errorOf(() => ids(deep(1000))).message).toContain('nests deeper');
    expect(filterError(deep(MAX_QUERY_NESTING + 1))).toBe(
      'hawkbit.server.error.rest.param.rsqlParamSyntax',
    );
    expect(ids(deep(MAX_QUERY_NESTING))).toEqual(['dev-1']);
  });

  it('does not count parentheses inside quoted values', () => {
    const q = `controllerId=="${'('.repeat(100)}",controllerId=='\\'((' `;
    expect(ids(q)).toEqual([]);
  });

  it('refuses an over-long query', () => {
    const q = `controllerId==${'x'.repeat(MAX_QUERY_LENGTH)}`;
    expect(errorOf(() => ids(q)).message).toContain(`at most ${MAX_QUERY_LENGTH}`);
  });
});

describe('q: the wildcard stall of issue 15', () => {
  it('answers *a*a*a*a*b against a 256-character id at once', () => {
    expect(ids('controllerId==*a*a*a*a*b')).toEqual([]);
    expect(ids('controllerId==*a*a*a*a*a')).toEqual(['a'.repeat(256)]);
    const many = `controllerId==${'*a'.repeat(1000)}*b`;
    expect(ids(many)).toEqual([]);
  });
});

describe('sort and paging', () => {
  it('sorts by several keys, field names in any case', () => {
    const sorted = queryList(devices, params({ sort: 'ACTIVE:desc,Weight:ASC' }), fields, 'x');
    expect(sorted.items.map((d) => d.controllerId)).toEqual([
      'a'.repeat(256),
      'dev-1',
      'gw-3',
      'dev-10',
      'DEV-2',
    ]);
    const byGroup = [...devices].sort(compileSort('group:ASC', fields));
    expect(byGroup.at(-1)?.controllerId).toBe('gw-3');
  });

  it('uses the default sort when none is given', () => {
    const page = queryList(devices, params({}), fields, 'weight:DESC');
    expect(page.items.map((d) => d.weight)).toEqual([1000, 500, 100, 7, 0]);
  });

  it('refuses bad sort terms in hawkBit form', () => {
    const sortError = (sort: string) =>
      errorOf(() => queryList(devices, params({ sort }), fields, 'weight:ASC')).errorCode;
    expect(sortError('weight')).toBe('hawkbit.server.error.rest.param.sortParamSyntax');
    expect(sortError('weight:UP')).toBe('hawkbit.server.error.rest.param.invalidDirection');
    expect(sortError('height:ASC')).toBe('hawkbit.server.error.rest.param.invalidField');
  });

  it('pages with offset and limit, counting the whole filtered list', () => {
    const page = queryList(
      devices,
      params({ q: 'controllerId==*-*', offset: '1', limit: '2' }),
      fields,
      'weight:ASC',
    );
    expect(page).toEqual({ items: [devices[0], devices[1]], total: 4 });
    // hawkBit clamps paging values instead of refusing them.
    const clamped = queryList(devices, params({ offset: '-3', limit: '-4' }), fields, 'weight:ASC');
    expect(clamped.items).toHaveLength(5);
    expect(
      queryList(devices, params({ offset: '4', limit: '9999' }), fields, 'weight:ASC').items,
    ).toEqual([devices[2]]);
  });

  it('ignores q where the endpoint does not filter', () => {
    const page = queryList(devices, params({ q: 'shoeSize==3' }), fields, 'weight:ASC', {
      allowQ: false,
    });
    expect(page.total).toBe(5);
  });
});

describe('listQueryOf', () => {
  it('describes the request as plain data a store can run', () => {
    const query = listQueryOf(
      params({ q: 'weight=gt=5;group==n*', sort: 'weight:desc', offset: '2', limit: '10' }),
      fields,
      'controllerId:ASC',
    );
    expect(JSON.parse(JSON.stringify(query))).toEqual({
      filter: {
        kind: 'and',
        nodes: [
          { kind: 'cmp', field: 'weight', op: '>', values: ['5'] },
          { kind: 'cmp', field: 'group', op: '==', values: ['n*'] },
        ],
      },
      sort: [{ field: 'weight', direction: 'DESC' }],
      offset: 2,
      limit: 10,
    });
    expect(compileFilter('weight=gt=5;group==n*', fields)(devices[0]!)).toBe(true);
  });
});
