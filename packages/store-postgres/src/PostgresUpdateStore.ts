import {
  type ActionRecord,
  type ActionStatus,
  type Collection,
  type CollectionRecord,
  type CollectionStore,
  type DistributionSet,
  type DomainEvent,
  ipAddressOf,
  listQueryOf,
  OtaflowError,
  type OutboxAppend,
  type OutboxChannelStats,
  type OutboxClaim,
  type OutboxEntry,
  type Page,
  type PageQuery,
  type Sequence,
  type SoftwareModule,
  TARGET_GROUP_BATCH,
  type TargetContact,
  type TargetRecord,
  type TargetSelection,
  targetViewOfRecord,
  type UpdateStore,
} from '@otaflow/core';
import type { Db, Sql } from './Db.js';
import {
  ACTION_LIST,
  compileListSql,
  type ListTable,
  MODULE_LIST,
  SET_LIST,
  TARGET_LIST,
} from './listSql.js';
import { OUTBOX_CHANNEL } from './outboxFeed.js';
import { postgresCollection } from './PostgresCollection.js';

/** Active unless closed: hawkBit's final statuses. */
const CLOSED = new Set(['FINISHED', 'ERROR', 'CANCELED']);

function conflict(kind: string, key: string | number, expected: number): OtaflowError {
  return new OtaflowError(
    'CONFLICT',
    expected < 0 ? `${kind} ${key} exists` : `${kind} ${key} is not at version ${expected}`,
  );
}

function iso(ms: unknown): string {
  return new Date(typeof ms === 'number' ? ms : 0).toISOString();
}

interface ActionRow {
  id: string;
  controller_id: string;
  version: number;
  refs: Record<string, string> | null;
  applied: string[] | null;
  state: ActionRecord['state'];
  history: unknown[];
}

/** The record as core wrote it: the machine with its history rows put back. */
function actionOf(row: ActionRow): ActionRecord {
  const record: ActionRecord = {
    id: Number(row.id),
    controllerId: row.controller_id,
    version: row.version,
    state: { ...row.state, context: { ...row.state.context, history: row.history } },
  };
  if (row.refs) record.refs = row.refs;
  if (row.applied) record.applied = row.applied;
  return record;
}

/** The row and its current history window (migration 005), oldest entry first. */
const ACTION_COLUMNS = `id, controller_id, version, refs, applied, state,
  (SELECT COALESCE(jsonb_agg(s.entry ORDER BY s.seq), '[]'::jsonb) FROM action_status s
    WHERE s.tenant = actions.tenant AND s.action_id = actions.id
      AND s.seq > actions.history_start AND s.seq <= actions.history_end) AS history`;

/** Entry i of a history that starts after `start` is row `start + 1 + i`. */
const HISTORY_ROWS = `INSERT INTO action_status (tenant, action_id, seq, entry)
  SELECT $1, $2, $12::bigint + x.o, x.e FROM jsonb_array_elements($13::text::jsonb) WITH ORDINALITY AS x(e, o)`;

/**
 * jsonb parameters are bound as text and cast (`$n::text::jsonb`): postgres.js would otherwise
 * encode a JSON string once more for a parameter the server typed jsonb.
 *
 * The update store over PostgreSQL or PGlite (the same SQL on both), for one tenant. Versioned
 * writes are one statement each: `UPDATE ... WHERE version = $n`, where no row means CONFLICT, and
 * `INSERT ... ON CONFLICT DO NOTHING` for a record that must not exist yet. Neither raises an SQL
 * error, so a conflict inside a transaction leaves the transaction usable for a retry.
 */
export class PostgresUpdateStore implements UpdateStore {
  readonly #sql: Sql;
  readonly #db: Db | undefined;
  readonly #tenant: string;

  /** `db` is the root database, or a transaction handle when the store is a unit's `tx`. */
  constructor(sql: Sql, tenant: string, db?: Db) {
    this.#sql = sql;
    this.#tenant = tenant;
    this.#db = db;
  }

  /** Where the rows live, for the ready line. Undefined on a unit's `tx`. */
  get db(): Db | undefined {
    return this.#db;
  }

  async countActionsByStatus(): Promise<Partial<Record<ActionStatus, number>>> {
    const { rows } = await this.#sql.query<{ status: ActionStatus; n: number }>(
      'SELECT status, count(*)::int AS n FROM actions WHERE tenant = $1 GROUP BY status',
      [this.#tenant],
    );
    const counts: Partial<Record<ActionStatus, number>> = {};
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }

  async ping(): Promise<void> {
    await this.#sql.query('SELECT 1');
  }

  async transaction<T>(work: (tx: UpdateStore) => Promise<T>): Promise<T> {
    // A unit's store has no root: a nested call joins the unit.
    if (!this.#db) return work(this);
    return this.#db.transaction((tx) => work(new PostgresUpdateStore(tx, this.#tenant)));
  }

  // ---------------------------------------------------------------- targets

  async getTarget(controllerId: string) {
    const { rows } = await this.#sql.query<{ record: TargetRecord }>(
      'SELECT record FROM targets WHERE tenant = $1 AND controller_id = $2',
      [this.#tenant, controllerId],
    );
    return rows[0]?.record;
  }

  async getTargetAndActions(controllerId: string) {
    const { rows } = await this.#sql.query<{ target: TargetRecord | null; actions: ActionRow[] }>(
      `SELECT (SELECT record FROM targets WHERE tenant = $1 AND controller_id = $2) AS target,
              (SELECT COALESCE(jsonb_agg(to_jsonb(a) ORDER BY a.id), '[]'::jsonb)
                 FROM (SELECT ${ACTION_COLUMNS} FROM actions
                        WHERE tenant = $1 AND controller_id = $2) a) AS actions`,
      [this.#tenant, controllerId],
    );
    const row = rows[0];
    return { target: row?.target ?? undefined, actions: (row?.actions ?? []).map(actionOf) };
  }

  async getTargets(controllerIds: readonly string[]) {
    if (controllerIds.length === 0) return [];
    const { rows } = await this.#sql.query<{ record: TargetRecord }>(
      `SELECT record FROM targets
        WHERE tenant = $1 AND controller_id IN (SELECT jsonb_array_elements_text($2::text::jsonb))`,
      [this.#tenant, JSON.stringify(controllerIds)],
    );
    return rows.map((r) => r.record);
  }

  async listTargets(query?: PageQuery): Promise<Page<TargetRecord>> {
    const page = await this.#list<{ record: TargetRecord }>(
      'targets',
      'record',
      TARGET_LIST,
      query,
    );
    return { items: page.items.map((r) => r.record), total: page.total };
  }

  async putTarget(record: TargetRecord, expectedVersion?: number) {
    const view = targetViewOfRecord(record);
    const params = [
      this.#tenant,
      record.controllerId,
      record.version,
      record.name,
      view.updateStatus,
      iso(view.createdAt),
      iso(view.lastModifiedAt),
      JSON.stringify(record),
      ipAddressOf(record.address) ?? null,
    ];
    const values = '($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9)';
    const set =
      'version = $3, name = $4, update_status = $5, created_at = $6, last_modified_at = $7, record = $8::text::jsonb, ip_address = $9';
    const columns =
      'tenant, controller_id, version, name, update_status, created_at, last_modified_at, record, ip_address';
    if (expectedVersion === undefined) {
      await this.#sql.query(
        `INSERT INTO targets (${columns}) VALUES ${values} ON CONFLICT (tenant, controller_id) DO UPDATE SET ${set}`,
        params,
      );
    } else if (expectedVersion < 0) {
      const { rowCount } = await this.#sql.query(
        `INSERT INTO targets (${columns}) VALUES ${values} ON CONFLICT DO NOTHING`,
        params,
      );
      if (rowCount === 0) throw conflict('target', record.controllerId, expectedVersion);
    } else {
      const { rowCount } = await this.#sql.query(
        `UPDATE targets SET ${set} WHERE tenant = $1 AND controller_id = $2 AND version = $10`,
        [...params, expectedVersion],
      );
      if (rowCount === 0) throw conflict('target', record.controllerId, expectedVersion);
    }
  }

  /**
   * New targets in one statement (the Management API creates a fleet in bulk requests): rows
   * from one JSON parameter by `jsonb_to_recordset`; CONFLICT when any existed already.
   */
  async putNewTargets(records: readonly TargetRecord[]) {
    if (records.length === 0) return;
    const input = records.map((record) => {
      const view = targetViewOfRecord(record);
      return {
        controller_id: record.controllerId,
        version: record.version,
        name: record.name,
        update_status: view.updateStatus,
        created_at: iso(view.createdAt),
        last_modified_at: iso(view.lastModifiedAt),
        record,
        ip_address: ipAddressOf(record.address) ?? null,
      };
    });
    const { rowCount } = await this.#sql.query(
      `INSERT INTO targets (tenant, controller_id, version, name, update_status, created_at,
                            last_modified_at, record, ip_address)
       SELECT $1, controller_id, version, name, update_status, created_at, last_modified_at,
              record, ip_address
         FROM jsonb_to_recordset($2::text::jsonb)
           AS t(controller_id text, version int, name text, update_status text,
                created_at timestamptz, last_modified_at timestamptz, record jsonb, ip_address text)
       ON CONFLICT DO NOTHING`,
      [this.#tenant, JSON.stringify(input)],
    );
    // Inside a unit (as the service writes them) the CONFLICT rolls the whole batch back.
    if (rowCount !== records.length) throw conflict('target', records[0]!.controllerId, -1);
  }

  async touchTargets(contacts: readonly TargetContact[]) {
    if (contacts.length === 0) return;
    // One row per target (the latest time), bound as one JSON parameter: the same SQL on both
    // drivers, one statement for the whole batch. No version is taken, and migration 003's
    // trigger announces only versioned changes, so no backend forgets its cache for a poll time.
    const latest = new Map<string, number>();
    for (const { controllerId, at } of contacts)
      latest.set(controllerId, Math.max(at, latest.get(controllerId) ?? at));
    const rows = [...latest].map(([id, at]) => ({ id, at: Math.trunc(at) }));
    // SKIP LOCKED: a target another unit holds (an assignment of thousands, a report) keeps its
    // old time until its next contact, and the batch neither waits for that unit nor, locking
    // rows in the opposite order, deadlocks with it and makes it start over.
    await this.#sql.query(
      `WITH c AS (SELECT * FROM jsonb_to_recordset($2::text::jsonb) AS c(id text, at bigint)),
            free AS (
         SELECT t.controller_id, c.at FROM targets t JOIN c ON t.controller_id = c.id
          WHERE t.tenant = $1
            AND COALESCE(CASE WHEN jsonb_typeof(t.record #> '{state,context,lastContactAt}') = 'number'
                              THEN (t.record #>> '{state,context,lastContactAt}')::numeric END, -1) < c.at
          ORDER BY t.controller_id
            FOR UPDATE OF t SKIP LOCKED)
       UPDATE targets t
          SET record = jsonb_set(t.record, '{state,context,lastContactAt}', to_jsonb(free.at))
         FROM free
        WHERE t.tenant = $1 AND t.controller_id = free.controller_id`,
      [this.#tenant, JSON.stringify(rows)],
    );
  }

  async setTargetGroup(group: string | undefined, selection: TargetSelection) {
    const params: unknown[] = [this.#tenant, group ?? null];
    const where =
      'controllerIds' in selection
        ? `controller_id IN (SELECT jsonb_array_elements_text($${params.push(JSON.stringify(selection.controllerIds))}::text::jsonb))`
        : compileListSql(TARGET_LIST, listQueryOf({ filter: selection.filter }), params).where;
    const limit = params.push(TARGET_GROUP_BATCH);
    const moved =
      group === undefined ? `record - 'group'` : `jsonb_set(record, '{group}', to_jsonb($2::text))`;
    // One UPDATE per batch. A target written leaves the selection (its group is then exactly
    // `group`), so the next batch starts on the rest, and the loop ends when none is left.
    let written = 0;
    for (;;) {
      const { rowCount } = await this.#sql.query(
        `UPDATE targets SET version = version + 1,
                record = jsonb_set(${moved}, '{version}', to_jsonb(version + 1))
          WHERE tenant = $1 AND controller_id IN (
            SELECT controller_id FROM targets
             WHERE tenant = $1 AND ${where} AND (record->>'group') IS DISTINCT FROM $2::text
             ORDER BY seq LIMIT $${limit})`,
        params,
      );
      if (rowCount === 0) return written;
      written += rowCount;
    }
  }

  async listTargetGroups() {
    const { rows } = await this.#sql.query<{ g: string }>(
      `SELECT DISTINCT (record->>'group') COLLATE "C" AS g FROM targets
        WHERE tenant = $1 AND record->>'group' IS NOT NULL ORDER BY g`,
      [this.#tenant],
    );
    return rows.map((row) => row.g);
  }

  async deleteTarget(controllerId: string) {
    // Its actions go with it, as in memory; one statement, so no unit is needed.
    const { rows } = await this.#sql.query<{ n: string }>(
      `WITH gone AS (DELETE FROM actions WHERE tenant = $1 AND controller_id = $2)
       , t AS (DELETE FROM targets WHERE tenant = $1 AND controller_id = $2 RETURNING 1)
       SELECT count(*) AS n FROM t`,
      [this.#tenant, controllerId],
    );
    return Number(rows[0]?.n ?? 0) > 0;
  }

  // ---------------------------------------------------------------- actions

  async getAction(id: number) {
    const { rows } = await this.#sql.query<ActionRow>(
      `SELECT ${ACTION_COLUMNS} FROM actions WHERE tenant = $1 AND id = $2`,
      [this.#tenant, id],
    );
    return rows[0] && actionOf(rows[0]);
  }

  async listActionsOfTarget(controllerId: string) {
    const { rows } = await this.#sql.query<ActionRow>(
      `SELECT ${ACTION_COLUMNS} FROM actions WHERE tenant = $1 AND controller_id = $2 ORDER BY id`,
      [this.#tenant, controllerId],
    );
    return rows.map(actionOf);
  }

  async listActions(query?: PageQuery, controllerId?: string): Promise<Page<ActionRecord>> {
    const page = await this.#list<ActionRow>(
      'actions',
      ACTION_COLUMNS,
      ACTION_LIST,
      query,
      controllerId,
    );
    return { items: page.items.map(actionOf), total: page.total };
  }

  /**
   * The machine goes to `actions.state` without its history; the history goes to
   * `action_status`, one row per entry at its lasting position (`historyDropped + index`). A
   * versioned write adds only the rows past what the row held (`history_end` as it was before
   * the statement, which the CTE's snapshot sees), so a report appends and rewrites nothing.
   */
  async putAction(record: ActionRecord, expectedVersion?: number) {
    const { history = [], ...context } = record.state.context as Record<string, unknown> & {
      history?: unknown[];
    };
    const status = String(context.status);
    const start = typeof context.historyDropped === 'number' ? context.historyDropped : 0;
    const params = [
      this.#tenant,
      record.id,
      record.controllerId,
      record.version,
      status,
      !CLOSED.has(status),
      Number(context.distributionSetId ?? 0),
      iso(context.createdAt),
      record.refs === undefined ? null : JSON.stringify(record.refs),
      record.applied === undefined ? null : JSON.stringify(record.applied),
      JSON.stringify({ ...record.state, context }),
      start,
      JSON.stringify(history),
    ];
    const columns =
      'tenant, id, controller_id, version, status, active, distribution_set_id, created_at, refs, applied, state, history_start, history_end';
    const values =
      '($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb, $10::text::jsonb, $11::text::jsonb, $12::bigint, $12::bigint + jsonb_array_length($13::text::jsonb))';
    const set =
      'controller_id = $3, version = $4, status = $5, active = $6, distribution_set_id = $7, created_at = $8, refs = $9::text::jsonb, applied = $10::text::jsonb, state = $11::text::jsonb, history_start = $12::bigint, history_end = $12::bigint + jsonb_array_length($13::text::jsonb)';
    let written: number;
    if (expectedVersion === undefined) {
      // An unversioned write replaces the record whole, its history window included.
      const { rows } = await this.#sql.query<{ n: number }>(
        `WITH up AS (INSERT INTO actions (${columns}) VALUES ${values}
                     ON CONFLICT (tenant, id) DO UPDATE SET ${set} RETURNING 1),
              rows AS (${HISTORY_ROWS.replace('FROM jsonb', 'FROM up, jsonb')}
                       ON CONFLICT (tenant, action_id, seq) DO UPDATE SET entry = EXCLUDED.entry)
         SELECT count(*)::int AS n FROM up`,
        params,
      );
      written = rows[0]?.n ?? 0;
    } else if (expectedVersion < 0) {
      const { rows } = await this.#sql.query<{ n: number }>(
        `WITH ins AS (INSERT INTO actions (${columns}) VALUES ${values} ON CONFLICT DO NOTHING RETURNING 1),
              rows AS (${HISTORY_ROWS.replace('FROM jsonb', 'FROM ins, jsonb')})
         SELECT count(*)::int AS n FROM ins`,
        params,
      );
      written = rows[0]?.n ?? 0;
    } else {
      const { rows } = await this.#sql.query<{ n: number }>(
        `WITH old AS (SELECT history_end FROM actions WHERE tenant = $1 AND id = $2),
              upd AS (UPDATE actions SET ${set} WHERE tenant = $1 AND id = $2 AND version = $14 RETURNING 1),
              rows AS (${HISTORY_ROWS.replace('FROM jsonb', 'FROM old, upd, jsonb')}
                         WHERE $12::bigint + x.o > old.history_end)
         SELECT count(*)::int AS n FROM upd`,
        [...params, expectedVersion],
      );
      written = rows[0]?.n ?? 0;
    }
    if (written === 0 && expectedVersion !== undefined)
      throw conflict('action', record.id, expectedVersion);
  }

  /**
   * New actions in one statement (a rollout schedules thousands at once): the rows from arrays
   * by `unnest`, their history rows beside them; CONFLICT when any id existed already.
   */
  async putNewActions(records: readonly ActionRecord[]) {
    if (records.length === 0) return;
    // One JSON parameter of rows: the same on every driver (arrays of booleans are not).
    const input = records.map((record) => {
      const { history = [], ...context } = record.state.context as Record<string, unknown> & {
        history?: unknown[];
      };
      const status = String(context.status);
      return {
        id: record.id,
        controller_id: record.controllerId,
        status,
        active: !CLOSED.has(status),
        set_id: Number(context.distributionSetId ?? 0),
        created_at: iso(context.createdAt),
        refs: record.refs ?? null,
        state: { ...record.state, context },
        start: typeof context.historyDropped === 'number' ? context.historyDropped : 0,
        history,
      };
    });
    const { rows } = await this.#sql.query<{ n: number }>(
      `WITH input AS (
         SELECT * FROM jsonb_to_recordset($2::text::jsonb)
                AS t(id bigint, controller_id text, status text, active boolean, set_id bigint,
                     created_at timestamptz, refs jsonb, state jsonb, start bigint, history jsonb)),
            ins AS (
         INSERT INTO actions (tenant, id, controller_id, version, status, active, distribution_set_id,
                              created_at, refs, applied, state, history_start, history_end)
         SELECT $1, id, controller_id, 0, status, active, set_id, created_at,
                CASE WHEN jsonb_typeof(refs) = 'object' THEN refs END, NULL,
                state, start, start + jsonb_array_length(history)
           FROM input
         ON CONFLICT DO NOTHING RETURNING id),
            rows AS (
         INSERT INTO action_status (tenant, action_id, seq, entry)
         SELECT $1, i.id, i.start + x.o, x.e
           FROM input i JOIN ins USING (id),
                jsonb_array_elements(i.history) WITH ORDINALITY AS x(e, o))
       SELECT count(*)::int AS n FROM ins`,
      [this.#tenant, JSON.stringify(input)],
    );
    // Inside a unit (as the service writes them) the CONFLICT rolls the whole batch back.
    if ((rows[0]?.n ?? 0) !== records.length) {
      throw conflict('action', records[0]!.id, -1);
    }
  }

  async deleteAction(id: number) {
    // Its status rows go with it (ON DELETE CASCADE).
    const { rows } = await this.#sql.query<{ id: string }>(
      'DELETE FROM actions WHERE tenant = $1 AND id = $2 RETURNING id',
      [this.#tenant, id],
    );
    return rows.length > 0;
  }

  async findActionByRef(key: string, value: string) {
    // Should two actions carry the same reference, the newest answers.
    const { rows } = await this.#sql.query<ActionRow>(
      `SELECT ${ACTION_COLUMNS} FROM actions WHERE tenant = $1 AND refs @> jsonb_build_object($2::text, $3::text) ORDER BY id DESC LIMIT 1`,
      [this.#tenant, key, value],
    );
    return rows[0] && actionOf(rows[0]);
  }

  // ---------------------------------------------------------------- catalogue

  async getSoftwareModule(id: number) {
    const { rows } = await this.#sql.query<{ record: SoftwareModule }>(
      'SELECT record FROM software_modules WHERE tenant = $1 AND id = $2',
      [this.#tenant, id],
    );
    return rows[0]?.record;
  }

  async listSoftwareModules(query?: PageQuery): Promise<Page<SoftwareModule>> {
    const page = await this.#list<{ record: SoftwareModule }>(
      'software_modules',
      'record',
      MODULE_LIST,
      query,
    );
    return { items: page.items.map((r) => r.record), total: page.total };
  }

  async findSoftwareModule(type: string, name: string, version: string) {
    const { rows } = await this.#sql.query<{ record: SoftwareModule }>(
      'SELECT record FROM software_modules WHERE tenant = $1 AND type = $2 AND name = $3 AND version = $4 ORDER BY id LIMIT 1',
      [this.#tenant, type, name, version],
    );
    return rows[0]?.record;
  }

  async putSoftwareModule(module: SoftwareModule, expectedRevision?: number) {
    await this.#putCatalogue(
      'software_modules',
      'software module',
      ['type', 'name', 'version'],
      [module.type, module.name, module.version],
      module,
      expectedRevision,
    );
  }

  async deleteSoftwareModule(id: number) {
    const { rowCount } = await this.#sql.query(
      'DELETE FROM software_modules WHERE tenant = $1 AND id = $2',
      [this.#tenant, id],
    );
    return rowCount > 0;
  }

  async getDistributionSet(id: number) {
    const { rows } = await this.#sql.query<{ record: DistributionSet }>(
      'SELECT record FROM distribution_sets WHERE tenant = $1 AND id = $2',
      [this.#tenant, id],
    );
    return rows[0]?.record;
  }

  async listDistributionSets(query?: PageQuery): Promise<Page<DistributionSet>> {
    const page = await this.#list<{ record: DistributionSet }>(
      'distribution_sets',
      'record',
      SET_LIST,
      query,
    );
    return { items: page.items.map((r) => r.record), total: page.total };
  }

  async findDistributionSet(name: string, version: string) {
    const { rows } = await this.#sql.query<{ record: DistributionSet }>(
      'SELECT record FROM distribution_sets WHERE tenant = $1 AND name = $2 AND version = $3 ORDER BY id LIMIT 1',
      [this.#tenant, name, version],
    );
    return rows[0]?.record;
  }

  async putDistributionSet(set: DistributionSet, expectedRevision?: number) {
    await this.#putCatalogue(
      'distribution_sets',
      'distribution set',
      ['name', 'version'],
      [set.name, set.version],
      set,
      expectedRevision,
    );
  }

  async deleteDistributionSet(id: number) {
    const { rowCount } = await this.#sql.query(
      'DELETE FROM distribution_sets WHERE tenant = $1 AND id = $2',
      [this.#tenant, id],
    );
    return rowCount > 0;
  }

  /** `table` and `columns` are this file's constants, never input. */
  async #putCatalogue(
    table: 'software_modules' | 'distribution_sets',
    kind: string,
    columns: readonly string[],
    values: readonly string[],
    record: SoftwareModule | DistributionSet,
    expected: number | undefined,
  ) {
    const params = [this.#tenant, record.id, record.revision, JSON.stringify(record), ...values];
    const names = ['tenant', 'id', 'revision', 'record', ...columns].join(', ');
    const slots = params.map((_, i) => (i === 3 ? '$4::text::jsonb' : `$${i + 1}`)).join(', ');
    const set = [
      'revision = $3',
      'record = $4::text::jsonb',
      ...columns.map((c, i) => `${c} = $${i + 5}`),
    ].join(', ');
    if (expected === undefined) {
      await this.#sql.query(
        `INSERT INTO ${table} (${names}) VALUES (${slots}) ON CONFLICT (tenant, id) DO UPDATE SET ${set}`,
        params,
      );
    } else if (expected < 0) {
      const { rowCount } = await this.#sql.query(
        `INSERT INTO ${table} (${names}) VALUES (${slots}) ON CONFLICT DO NOTHING`,
        params,
      );
      if (rowCount === 0) throw conflict(kind, record.id, expected);
    } else {
      const { rowCount } = await this.#sql.query(
        `UPDATE ${table} SET ${set} WHERE tenant = $1 AND id = $2 AND revision = $${params.length + 1}`,
        [...params, expected],
      );
      if (rowCount === 0) throw conflict(kind, record.id, expected);
    }
  }

  // ---------------------------------------------------------------- collections

  collection<T extends CollectionRecord>(collection: Collection<T>): CollectionStore<T> {
    return postgresCollection(this.#sql, this.#tenant, collection, () =>
      this.nextId(`collection:${collection.name}`),
    );
  }

  // ---------------------------------------------------------------- sequences

  async nextIds(sequence: Sequence, count: number) {
    if (count <= 0) return [];
    const { rows } = await this.#sql.query<{ value: string }>(
      `INSERT INTO sequences (tenant, name, value) VALUES ($1, $2, $3)
       ON CONFLICT (tenant, name) DO UPDATE SET value = sequences.value + $3
       RETURNING value`,
      [this.#tenant, sequence, count],
    );
    const last = Number(rows[0]!.value);
    return Array.from({ length: count }, (_, i) => last - count + 1 + i);
  }

  async nextId(sequence: Sequence) {
    const { rows } = await this.#sql.query<{ value: string }>(
      `INSERT INTO sequences (tenant, name, value) VALUES ($1, $2, 1)
       ON CONFLICT (tenant, name) DO UPDATE SET value = sequences.value + 1
       RETURNING value`,
      [this.#tenant, sequence],
    );
    return Number(rows[0]!.value);
  }

  // ---------------------------------------------------------------- outbox (migration 008)

  /**
   * One statement: the rows, in the order given, and one NOTIFY per channel (sent at commit, and
   * only if the unit commits) so that idle relays on every backend look at once.
   */
  async appendOutbox(entries: readonly OutboxAppend[]) {
    if (entries.length === 0) return;
    await this.#sql.query(
      `WITH added AS (
         INSERT INTO outbox (tenant, channel, payload)
         SELECT $1, x.e->>'channel', x.e->'event'
           FROM jsonb_array_elements($2::text::jsonb) WITH ORDINALITY AS x(e, o)
          ORDER BY x.o
         RETURNING channel)
       SELECT pg_notify('${OUTBOX_CHANNEL}', $1 || E'\\n' || c.channel)
         FROM (SELECT DISTINCT channel FROM added) c`,
      [this.#tenant, JSON.stringify(entries)],
    );
  }

  /** Skips rows another claim has locked this instant as well as rows under a running lease. */
  async claimOutbox({ channel, limit, owner, leaseMs }: OutboxClaim): Promise<OutboxEntry[]> {
    const { rows } = await this.#sql.query<{
      id: string;
      payload: DomainEvent;
      created_ms: string;
    }>(
      `UPDATE outbox o
          SET lease_owner = $3, lease_until = clock_timestamp() + $4::int * interval '1 millisecond'
         FROM (SELECT id FROM outbox
                WHERE tenant = $1 AND channel = $2
                  AND (lease_until IS NULL OR lease_until < clock_timestamp() OR lease_owner = $3)
                ORDER BY id LIMIT $5
                FOR UPDATE SKIP LOCKED) c
        WHERE o.tenant = $1 AND o.id = c.id
        RETURNING o.id, o.payload, floor(extract(epoch FROM o.created_at) * 1000)::bigint AS created_ms`,
      [this.#tenant, channel, owner, Math.max(0, Math.trunc(leaseMs)), limit],
    );
    return rows
      .map((r) => ({
        id: Number(r.id),
        channel,
        event: r.payload,
        createdAt: Number(r.created_ms),
      }))
      .sort((a, b) => a.id - b.id);
  }

  async completeOutbox(ids: readonly number[], owner: string) {
    if (ids.length === 0) return 0;
    const { rowCount } = await this.#sql.query(
      `DELETE FROM outbox
        WHERE tenant = $1 AND lease_owner = $2
          AND id IN (SELECT jsonb_array_elements_text($3::text::jsonb)::bigint)`,
      [this.#tenant, owner, JSON.stringify(ids)],
    );
    return rowCount;
  }

  async outboxStats(): Promise<OutboxChannelStats[]> {
    const { rows } = await this.#sql.query<{ channel: string; depth: number; age: string }>(
      `SELECT channel, count(*)::int AS depth,
              greatest(0, floor(extract(epoch FROM clock_timestamp() - min(created_at)) * 1000))::bigint AS age
         FROM outbox WHERE tenant = $1
        GROUP BY channel ORDER BY channel COLLATE "C"`,
      [this.#tenant],
    );
    return rows.map((r) => ({ channel: r.channel, depth: r.depth, oldestAgeMs: Number(r.age) }));
  }

  /**
   * One page and the total of a filtered list: two statements, concurrent on a server's pool.
   * `table`, `columns` and the list's SQL come from this package's constants; every value the
   * query carries is a bound parameter.
   */
  async #list<R>(
    table: 'targets' | 'actions' | 'software_modules' | 'distribution_sets',
    columns: string,
    list: ListTable<unknown>,
    request: PageQuery | undefined,
    controllerId?: string,
  ): Promise<Page<R>> {
    const query = listQueryOf(request);
    const params: unknown[] = [this.#tenant];
    const scope =
      controllerId === undefined ? '' : ` AND controller_id = $${params.push(controllerId)}`;
    const { where, orderBy, whereParams } = compileListSql(list, query, params);
    const condition = `tenant = $1${scope} AND ${where}`;
    const limit = Number.isFinite(query.limit) ? query.limit : null;
    const count = this.#sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${table} WHERE ${condition}`,
      params.slice(0, whereParams),
    );
    if (limit === 0) return { items: [], total: Number((await count).rows[0]?.n ?? 0) };
    const n = params.length;
    const [{ rows }, counted] = await Promise.all([
      this.#sql.query<R>(
        `SELECT ${columns} FROM ${table} WHERE ${condition} ORDER BY ${orderBy} LIMIT $${n + 1} OFFSET $${n + 2}`,
        [...params, limit, query.offset],
      ),
      count,
    ]);
    return { items: rows, total: Number(counted.rows[0]?.n ?? 0) };
  }
}
