import {
  ACTION_LIST_FIELDS,
  checkListQuery,
  DISTRIBUTION_SET_LIST_FIELDS,
  type FilterComparison,
  type FilterNode,
  filterDepth,
  foldCase,
  INSTALLED_REPORT_REF,
  type ListFields,
  type ListFieldType,
  type ListQuery,
  OtaflowError,
  resolveListField,
  SOFTWARE_MODULE_LIST_FIELDS,
  TARGET_LIST_FIELDS,
} from '@otaflow/core';

/**
 * Core's list query (filter, sort, page) compiled to SQL over this package's columns. User text
 * only ever becomes a bound parameter: field names are looked up in the constant tables below
 * (an attribute's key is bound too), operators pick fixed SQL, and values are `$n`.
 *
 * The semantics are core's in-memory ones (`compileFilter`), which the contract suite holds the
 * two to: text compares case-insensitively (`lower` on both sides), `*` is a wildcard (LIKE, with
 * `%`, `_` and `\` escaped), numbers and timestamps (epoch ms) numerically, and a value that
 * cannot be a number matches nothing. `!=` and `=out=` include rows where the field is empty, as
 * hawkBit's `<> OR IS NULL` does. Sorting is by code point (`COLLATE "C"`), empty values last
 * ascending and first descending, ties in the store's stable order.
 */

/** A JSON number at `path`, or NULL when it holds anything else (a cast would raise). */
const jsonNumber = (path: string) =>
  `(CASE WHEN jsonb_typeof(${path}) = 'number' THEN (${path})::text::numeric END)`;
/** A JSON string at `parent -> key`, or NULL when it holds anything else. */
const jsonText = (parent: string, key: string) =>
  `(CASE WHEN jsonb_typeof(${parent}->'${key}') = 'string' THEN ${parent}->>'${key}' END)`;

const CONTEXT = `record->'state'->'context'`;
const ACTION_CONTEXT = `state->'context'`;

/**
 * SQL per list field; `attributes` fields are a prefix the bound key completes, or `keyed` SQL
 * around the bound key. A field of several values (`many`) is `exists`: the FROM and WHERE of a
 * correlated subquery with `value` its value there; a test holds when some row passes it.
 */
type Column = string | { keyed: (key: string) => string } | { exists: string; value: string };
type ColumnMap = Readonly<Record<string, Column>>;

/**
 * The set a target names in its context, by id (`distribution_sets`' key is bigint). The target's
 * columns are qualified: inside the subquery a bare `record` is the set's.
 */
const setColumn = (which: string, column: 'name' | 'version') =>
  `(SELECT d.${column} FROM distribution_sets d WHERE d.tenant = targets.tenant AND d.id = (${jsonNumber(`targets.${CONTEXT}->'${which}'`)})::bigint)`;

const TARGET_SQL: ColumnMap = {
  controllerId: 'controller_id',
  name: 'name',
  description: jsonText('record', 'description'),
  updateStatus: 'update_status',
  createdAt: jsonNumber(`${CONTEXT}->'createdAt'`),
  lastModifiedAt: jsonNumber(`${CONTEXT}->'lastModifiedAt'`),
  lastContactAt: jsonNumber(`${CONTEXT}->'lastContactAt'`),
  address: jsonText('record', 'address'),
  ipAddress: 'ip_address',
  channel: jsonText('record', 'channel'),
  targetType: jsonNumber(`record->'targetType'`),
  assignedDistributionSetId: jsonNumber(`${CONTEXT}->'assignedDistributionSetId'`),
  installedDistributionSetId: jsonNumber(`${CONTEXT}->'installedDistributionSetId'`),
  attribute: `record->'attributes'->>`,
  // Migration 009's generated column, which its index reads.
  group: 'target_group',
  // Core's TARGET_TAGS and TAG_ASSIGNMENTS collections, a tag's members scoped `targettag:<id>`.
  tag: {
    exists: `FROM collection_records tg
      JOIN collection_records ta ON ta.tenant = tg.tenant AND ta.collection = 'tagAssignment'
       AND ta.scope = 'targettag:' || tg.id
      WHERE tg.tenant = targets.tenant AND tg.collection = 'targetTag'
       AND ta.record->>'member' = targets.controller_id`,
    value: jsonText('tg.record', 'name'),
  },
  // Core's METADATA collection, a target's entries scoped `target:<controllerId>`.
  metadata: {
    keyed: (key) => `SELECT m.record->>'value' FROM collection_records m
      WHERE m.tenant = targets.tenant AND m.collection = 'metadata'
        AND m.scope = 'target:' || targets.controller_id AND m.record->>'key' = ${key}
      ORDER BY m.id LIMIT 1`,
  },
  assignedDistributionSetName: setColumn('assignedDistributionSetId', 'name'),
  assignedDistributionSetVersion: setColumn('assignedDistributionSetId', 'version'),
  installedDistributionSetName: setColumn('installedDistributionSetId', 'name'),
  installedDistributionSetVersion: setColumn('installedDistributionSetId', 'version'),
};

const ACTION_SQL: ColumnMap = {
  id: 'id',
  controllerId: 'controller_id',
  active: 'active',
  status: 'status',
  lastStatusCode: jsonNumber(`${ACTION_CONTEXT}->'lastStatusCode'`),
  createdAt: jsonNumber(`${ACTION_CONTEXT}->'createdAt'`),
  lastModifiedAt: jsonNumber(`${ACTION_CONTEXT}->'lastModifiedAt'`),
  weight: jsonNumber(`${ACTION_CONTEXT}->'weight'`),
  distributionSetId: jsonNumber(`${ACTION_CONTEXT}->'distributionSetId'`),
  distributionSetName: jsonText(ACTION_CONTEXT, 'distributionSetName'),
  distributionSetVersion: jsonText(ACTION_CONTEXT, 'distributionSetVersion'),
  rolloutId: jsonNumber(`${ACTION_CONTEXT}->'rolloutId'`),
  // The key is core's constant, a fixed identifier: inlined, not a bound parameter.
  installedReported: `COALESCE(refs ? '${INSTALLED_REPORT_REF}', FALSE)`,
  rolloutGroupId: jsonNumber(`${ACTION_CONTEXT}->'rolloutGroupId'`),
};

const MODULE_SQL: ColumnMap = {
  id: 'id',
  type: 'type',
  name: 'name',
  version: 'version',
  vendor: jsonText('record', 'vendor'),
  description: jsonText('record', 'description'),
  createdAt: jsonNumber(`record->'createdAt'`),
  lastModifiedAt: jsonNumber(`record->'lastModifiedAt'`),
  locked: `COALESCE((CASE WHEN jsonb_typeof(record->'locked') = 'boolean' THEN (record->>'locked')::boolean END), FALSE)`,
  deleted: `COALESCE((CASE WHEN jsonb_typeof(record->'deleted') = 'boolean' THEN (record->>'deleted')::boolean END), FALSE)`,
};

const SET_SQL: ColumnMap = {
  id: 'id',
  type: jsonText('record', 'type'),
  name: 'name',
  version: 'version',
  description: jsonText('record', 'description'),
  requiredMigrationStep: `(CASE WHEN jsonb_typeof(record->'requiredMigrationStep') = 'boolean' THEN (record->>'requiredMigrationStep')::boolean END)`,
  locked: `COALESCE((CASE WHEN jsonb_typeof(record->'locked') = 'boolean' THEN (record->>'locked')::boolean END), FALSE)`,
  valid: `COALESCE((CASE WHEN jsonb_typeof(record->'valid') = 'boolean' THEN (record->>'valid')::boolean END), TRUE)`,
  deleted: `COALESCE((CASE WHEN jsonb_typeof(record->'deleted') = 'boolean' THEN (record->>'deleted')::boolean END), FALSE)`,
  createdAt: jsonNumber(`record->'createdAt'`),
  lastModifiedAt: jsonNumber(`record->'lastModifiedAt'`),
};

/** One entity's list: its core vocabulary, its SQL for each field, its stable tie order. */
export interface ListTable<T> {
  fields: ListFields<T>;
  columns: ColumnMap;
  tiebreak: string;
}

export const TARGET_LIST: ListTable<unknown> = {
  fields: TARGET_LIST_FIELDS as unknown as ListFields<unknown>,
  columns: TARGET_SQL,
  tiebreak: 'seq',
};
export const ACTION_LIST: ListTable<unknown> = {
  fields: ACTION_LIST_FIELDS as ListFields<unknown>,
  columns: ACTION_SQL,
  tiebreak: 'id',
};
export const MODULE_LIST: ListTable<unknown> = {
  fields: SOFTWARE_MODULE_LIST_FIELDS as ListFields<unknown>,
  columns: MODULE_SQL,
  tiebreak: 'id',
};
export const SET_LIST: ListTable<unknown> = {
  fields: DISTRIBUTION_SET_LIST_FIELDS as ListFields<unknown>,
  columns: SET_SQL,
  tiebreak: 'id',
};

/**
 * Deeper trees are refused rather than recursed over: the backend's parser stays far below this,
 * and a direct caller must not be able to exhaust the stack.
 */
export const MAX_FILTER_DEPTH = 64;

/** Escapes LIKE's own metacharacters, then turns hawkBit's `*` into `%`. */
export function likePatternOf(value: string): string {
  return value.replace(/[\\%_]/g, '\\$&').replaceAll('*', '%');
}

/** `Number` as core's matcher reads a filter value: blank is not 0. */
function numberOf(value: string): number {
  return value.trim() === '' ? Number.NaN : Number(value);
}

const isText = (type: ListFieldType) =>
  type === 'string' || type === 'enum' || type === 'attributes';
const isNumeric = (type: ListFieldType) => type === 'number' || type === 'timestamp';

interface Field {
  sql: string;
  type: ListFieldType;
  /** The FROM and WHERE of the rows `sql` reads, for a field of several values. */
  exists?: string;
}

class Compiler {
  constructor(
    readonly table: ListTable<unknown>,
    readonly params: unknown[],
  ) {}

  bind(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  field(name: string): Field {
    const found = resolveListField(this.table.fields, name);
    if (!found) throw new OtaflowError('INVALID_INPUT', `unknown list field ${name}`);
    const head = found.key === undefined ? name : name.slice(0, name.length - found.key.length - 1);
    const column = this.table.columns[head];
    if (column === undefined) throw new OtaflowError('INVALID_INPUT', `unknown list field ${name}`);
    const type = found.field.type;
    if (typeof column === 'string')
      return { type, sql: found.key === undefined ? column : `(${column}${this.bind(found.key)})` };
    if ('exists' in column) return { type, sql: column.value, exists: column.exists };
    return { type, sql: `(${column.keyed(this.bind(found.key ?? ''))})` };
  }

  /**
   * Core's `equalsValue` as SQL: NULL where the field is empty, which WHERE, AND and OR treat as
   * false; only a negation coalesces first. Left bare otherwise, so that indexes apply.
   */
  equals(field: Field, value: string, wildcards: boolean): string {
    if (isNumeric(field.type)) {
      const number = numberOf(value);
      return Number.isFinite(number)
        ? `${field.sql} = ${this.bind(String(number))}::numeric`
        : 'FALSE';
    }
    if (field.type === 'boolean') {
      const folded = foldCase(value);
      return folded === 'true' || folded === 'false'
        ? // A JS boolean: postgres.js encodes any non-empty string for a boolean as true.
          `${field.sql} = ${this.bind(folded === 'true')}::boolean`
        : 'FALSE';
    }
    if (wildcards && value.includes('*'))
      return `lower(${field.sql}) LIKE lower(${this.bind(likePatternOf(value))}) ESCAPE '\\'`;
    return `lower(${field.sql}) = lower(${this.bind(value)})`;
  }

  ordered(field: Field, op: '<' | '<=' | '>' | '>=', value: string): string {
    if (isNumeric(field.type)) {
      const number = numberOf(value);
      return Number.isFinite(number)
        ? `${field.sql} ${op} ${this.bind(String(number))}::numeric`
        : 'FALSE';
    }
    const text = isText(field.type) ? field.sql : `(${field.sql})::text`;
    return `lower(${text}) COLLATE "C" ${op} lower(${this.bind(value)}) COLLATE "C"`;
  }

  comparison(node: FilterComparison): string {
    const field = this.field(node.field);
    const first = node.values[0] ?? '';
    const any = () => `(${node.values.map((v) => this.equals(field, v, false)).join(' OR ')})`;
    if (field.exists !== undefined) {
      // Some row passes, or (negated) none passes `==` / `=in=`, as core's matcher tests many.
      const some = (test: string) => `EXISTS (SELECT 1 ${field.exists} AND ${test})`;
      switch (node.op) {
        case '==':
          return some(this.equals(field, first, true));
        case '!=':
          return `NOT ${some(this.equals(field, first, true))}`;
        case '=in=':
          return some(any());
        case '=out=':
          return `NOT ${some(any())}`;
        default:
          return some(this.ordered(field, node.op, first));
      }
    }
    switch (node.op) {
      case '==':
        return this.equals(field, first, true);
      case '!=':
        return `NOT COALESCE(${this.equals(field, first, true)}, FALSE)`;
      case '=in=':
        return any();
      case '=out=':
        return `NOT COALESCE(${any()}, FALSE)`;
      default:
        return this.ordered(field, node.op, first);
    }
  }

  filter(node: FilterNode): string {
    if (node.kind === 'cmp') return this.comparison(node);
    const joiner = node.kind === 'and' ? ' AND ' : ' OR ';
    return `(${node.nodes.map((child) => this.filter(child)).join(joiner)})`;
  }

  orderBy(query: ListQuery): string {
    const terms = query.sort.map(({ field: name, direction }) => {
      const field = this.field(name);
      return `${field.sql}${isText(field.type) ? ' COLLATE "C"' : ''} ${direction}`;
    });
    terms.push(this.table.tiebreak);
    return terms.join(', ');
  }
}

export interface ListSql {
  /** A condition to AND onto the table's own (tenant, scope); `TRUE` without a filter. */
  where: string;
  orderBy: string;
  /** How many of `params` `where` uses: the sort may bind more (a map entry's key). */
  whereParams: number;
}

/**
 * Compiles `query` for `table`, appending its values to `params` (which already holds the
 * statement's own, e.g. the tenant as `$1`). Unknown fields throw `OtaflowError('INVALID_INPUT')`
 * before any SQL runs, as the memory store does.
 */
export function compileListSql(
  table: ListTable<unknown>,
  query: ListQuery,
  params: unknown[],
): ListSql {
  checkListQuery(table.fields, query);
  if (query.filter && filterDepth(query.filter) > MAX_FILTER_DEPTH)
    throw new OtaflowError('INVALID_INPUT', `filter nests deeper than ${MAX_FILTER_DEPTH} levels`);
  const compiler = new Compiler(table, params);
  const where = query.filter ? compiler.filter(query.filter) : 'TRUE';
  const whereParams = params.length;
  return { where, orderBy: compiler.orderBy(query), whereParams };
}
