import {
  type Collection,
  type CollectionRecord,
  type CollectionStore,
  collectionFieldPath,
  collectionListFields,
  listQueryOf,
  OtaflowError,
  type Page,
  type PageQuery,
} from '@otaflow/core';
import type { Sql } from './Db.js';
import { compileListSql, type ListTable } from './listSql.js';

type AnyCollection = Collection<CollectionRecord>;

/**
 * A JSON path literal. Safe to inline: `defineCollection` allows only `[A-Za-z0-9_]+` keys, and
 * this checks again, since a literal is the one place a definition's text reaches the SQL.
 */
function pathLiteral(path: readonly string[]): string {
  if (!path.every((key) => /^[A-Za-z0-9_]+$/.test(key)))
    throw new OtaflowError('INVALID_INPUT', `bad JSON path ${path.join('.')}`);
  return `'{${path.join(',')}}'`;
}

const tables = new WeakMap<object, ListTable<unknown>>();

/** The collection's list fields as SQL over `record`, built once per collection. */
function listTableOf(collection: AnyCollection): ListTable<unknown> {
  const cached = tables.get(collection);
  if (cached) return cached;
  const columns: Record<string, string> = {};
  for (const [name, def] of Object.entries(collection.fields)) {
    const at = `(record #> ${pathLiteral(def.path ?? [name])})`;
    if (name === 'id' && !def.path) columns[name] = 'id';
    else if (def.type === 'number' || def.type === 'timestamp')
      columns[name] = `(CASE WHEN jsonb_typeof(${at}) = 'number' THEN ${at}::text::numeric END)`;
    else if (def.type === 'boolean')
      columns[name] = `(CASE WHEN jsonb_typeof(${at}) = 'boolean' THEN ${at}::text::boolean END)`;
    // The bound key completes it: `(<map> ->> $n)`.
    else if (def.type === 'attributes') columns[name] = `${at}->>`;
    else columns[name] = `(CASE WHEN jsonb_typeof(${at}) = 'string' THEN ${at}#>>'{}' END)`;
  }
  const table: ListTable<unknown> = {
    fields: collectionListFields(collection) as ListTable<unknown>['fields'],
    columns,
    tiebreak: 'id',
  };
  tables.set(collection, table);
  return table;
}

function conflict(collection: AnyCollection, id: number, expected: number): OtaflowError {
  return new OtaflowError(
    'CONFLICT',
    expected < 0
      ? `${collection.name} ${id} exists`
      : `${collection.name} ${id} is not at revision ${expected}`,
  );
}

/**
 * One collection's rows in `collection_records`, for one tenant, over the root database or a
 * unit's transaction (whichever `sql` is). Versioned writes as the catalogue's: one statement,
 * no SQL error on a conflict, so a unit stays usable.
 */
export function postgresCollection<T extends CollectionRecord>(
  sql: Sql,
  tenant: string,
  collection: Collection<T>,
  nextId: () => Promise<number>,
): CollectionStore<T> {
  const any = collection as AnyCollection;
  const key = [tenant, collection.name] as const;
  return {
    async get(id) {
      const { rows } = await sql.query<{ record: T }>(
        'SELECT record FROM collection_records WHERE tenant = $1 AND collection = $2 AND id = $3',
        [...key, id],
      );
      return rows[0]?.record;
    },

    async list(request?: PageQuery, scope?: string): Promise<Page<T>> {
      const query = listQueryOf(request);
      const params: unknown[] = [...key];
      const scoped = scope === undefined ? '' : ` AND scope = $${params.push(scope)}`;
      const { where, orderBy } = compileListSql(listTableOf(any), query, params);
      const condition = `tenant = $1 AND collection = $2${scoped} AND ${where}`;
      const count = sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM collection_records WHERE ${condition}`,
        params,
      );
      const limit = Number.isFinite(query.limit) ? query.limit : null;
      if (limit === 0) return { items: [], total: Number((await count).rows[0]?.n ?? 0) };
      const n = params.length;
      const [{ rows }, counted] = await Promise.all([
        sql.query<{ record: T }>(
          `SELECT record FROM collection_records WHERE ${condition} ORDER BY ${orderBy} LIMIT $${n + 1} OFFSET $${n + 2}`,
          [...params, limit, query.offset],
        ),
        count,
      ]);
      return { items: rows.map((r) => r.record), total: Number(counted.rows[0]?.n ?? 0) };
    },

    async findBy(field, value, scope) {
      const path = collectionFieldPath(any, field);
      if (!path)
        throw new OtaflowError('INVALID_INPUT', `unknown field ${collection.name}.${field}`);
      const params: unknown[] = [...key, JSON.stringify(value)];
      const scoped = scope === undefined ? '' : ` AND scope = $${params.push(scope)}`;
      const { rows } = await sql.query<{ record: T }>(
        `SELECT record FROM collection_records WHERE tenant = $1 AND collection = $2${scoped} AND record #> ${pathLiteral(path)} = $3::text::jsonb ORDER BY id LIMIT 1`,
        params,
      );
      return rows[0]?.record;
    },

    async put(record, expected) {
      const params = [
        ...key,
        record.id,
        record.revision,
        record.scope ?? null,
        JSON.stringify(record),
      ];
      const values = '($1, $2, $3, $4, $5, $6::text::jsonb)';
      const columns = 'tenant, collection, id, revision, scope, record';
      const set = 'revision = $4, scope = $5, record = $6::text::jsonb';
      if (expected === undefined) {
        await sql.query(
          `INSERT INTO collection_records (${columns}) VALUES ${values} ON CONFLICT (tenant, collection, id) DO UPDATE SET ${set}`,
          params,
        );
      } else if (expected < 0) {
        const { rowCount } = await sql.query(
          `INSERT INTO collection_records (${columns}) VALUES ${values} ON CONFLICT DO NOTHING`,
          params,
        );
        if (rowCount === 0) throw conflict(any, record.id, expected);
      } else {
        const { rowCount } = await sql.query(
          `UPDATE collection_records SET ${set} WHERE tenant = $1 AND collection = $2 AND id = $3 AND revision = $7`,
          [...params, expected],
        );
        if (rowCount === 0) throw conflict(any, record.id, expected);
      }
    },

    async delete(id) {
      const { rowCount } = await sql.query(
        'DELETE FROM collection_records WHERE tenant = $1 AND collection = $2 AND id = $3',
        [...key, id],
      );
      return rowCount > 0;
    },

    async deleteScope(scope) {
      const { rowCount } = await sql.query(
        'DELETE FROM collection_records WHERE tenant = $1 AND collection = $2 AND scope = $3',
        [...key, scope],
      );
      return rowCount;
    },

    nextId,
  };
}
