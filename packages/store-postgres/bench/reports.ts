/**
 * Device reports applied per second through `UpdateService` on the PostgreSQL store, against the
 * raw postgres.js client issuing the same statements for the same rows at the same concurrency.
 *
 * The report is a DDI `proceeding` on an open action, the bulk of a campaign's reports: the
 * service reads the action (one SELECT), steps its machine and writes it back with a versioned
 * UPDATE (no unit: one row, one statement). The raw client does exactly that: SELECT the row,
 * append a status entry to the state it read, UPDATE with the same columns and the version check.
 * Rounds alternate (store, raw, raw, store, ...); the median round's ratio counts.
 */
import { UpdateService } from '@otaflow/core';
import type postgres from 'postgres';
import type { Db } from '../src/index.js';
import { PostgresUpdateStore } from '../src/index.js';

const DEVICES = 2_000;
const REPORTS = 20_000;
const CONCURRENCY = 64;
const ROUNDS = 4;
const TENANT = 'reports';

export interface ReportFigures {
  store: number;
  raw: number;
  ratio: number;
  rounds: { store: number; raw: number }[];
}

/** `count` jobs over `CONCURRENCY` workers; reports/s. */
async function drive(count: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < count; i = next++) await job(i);
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

export async function benchReports(db: Db, raw: postgres.Sql): Promise<ReportFigures> {
  const store = new PostgresUpdateStore(db, TENANT, db);
  // Statuses are bounded; a long run must not hit the history bound, which would add work.
  const service = new UpdateService({ store, maxHistory: 1_000_000 });
  const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
  const set = await service.createDistributionSet({
    name: 'fw',
    version: '1',
    modules: [module.id],
  });
  const ids: number[] = [];
  for (let i = 0; i < DEVICES; i += 500) {
    const batch = Array.from({ length: Math.min(500, DEVICES - i) }, (_, k) => ({
      controllerId: `device-${i + k}`,
    }));
    for (const t of batch) await service.createTarget(t);
    const { actions } = await service.assign(set.id, batch);
    ids.push(...actions.map((a) => a.id));
  }
  // Each worker owns its devices (`i % DEVICES` for its own i's), as a device reports its own
  // action one report at a time; the versioned write never meets a concurrent writer.
  let at = Date.now();
  const viaStore = () =>
    drive(REPORTS, async (i) => {
      const result = await service.apply(ids[i % DEVICES]!, {
        type: 'action.proceeding',
        at: at++,
        messages: ['working'],
      });
      if (!result.ok) throw new Error(`report refused: ${JSON.stringify(result)}`);
    });
  const viaRaw = () =>
    drive(REPORTS, async (i) => {
      const id = ids[i % DEVICES]!;
      const [row] = await raw.unsafe(
        `SELECT id, controller_id, version, refs, applied, state,
           (SELECT COALESCE(jsonb_agg(s.entry ORDER BY s.seq), '[]'::jsonb) FROM action_status s
             WHERE s.tenant = actions.tenant AND s.action_id = actions.id
               AND s.seq > actions.history_start AND s.seq <= actions.history_end) AS history
         FROM actions WHERE tenant = $1 AND id = $2`,
        [TENANT, id],
        { prepare: true },
      );
      if (!row) throw new Error(`no action ${id}`);
      const state = row.state as { context: Record<string, unknown> };
      const when = at++;
      const history = [
        ...(row.history as unknown[]),
        { status: 'RUNNING', at: when, messages: ['working'] },
      ];
      const context = { ...state.context, lastModifiedAt: when };
      // The store's write: the machine without its history, and the new status row.
      const [updated] = await raw.unsafe(
        `WITH old AS (SELECT history_end FROM actions WHERE tenant = $1 AND id = $2),
              upd AS (UPDATE actions SET controller_id = $3, version = $4, status = $5, active = $6, distribution_set_id = $7, created_at = $8, refs = $9::text::jsonb, applied = $10::text::jsonb, state = $11::text::jsonb,
                        history_start = $12::bigint, history_end = $12::bigint + jsonb_array_length($13::text::jsonb)
                       WHERE tenant = $1 AND id = $2 AND version = $14 RETURNING 1),
              rows AS (INSERT INTO action_status (tenant, action_id, seq, entry)
                       SELECT $1, $2, $12::bigint + x.o, x.e FROM old, upd, jsonb_array_elements($13::text::jsonb) WITH ORDINALITY AS x(e, o)
                        WHERE $12::bigint + x.o > old.history_end)
         SELECT count(*)::int AS n FROM upd`,
        [
          TENANT,
          id,
          row.controller_id,
          row.version + 1,
          'RUNNING',
          true,
          1,
          new Date(0).toISOString(),
          row.refs === null ? null : JSON.stringify(row.refs),
          row.applied === null ? null : JSON.stringify(row.applied),
          JSON.stringify({ ...state, context }),
          0,
          JSON.stringify(history),
          row.version,
        ],
        { prepare: true },
      );
      if (updated?.n !== 1) throw new Error(`conflict on ${id}`);
    });
  // Warm both paths (plans, JIT), unmeasured.
  await drive(2_000, async (i) => {
    await service.apply(ids[i % DEVICES]!, { type: 'action.proceeding', at: at++ });
  });
  const rounds: { store: number; raw: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      const s = await viaStore();
      rounds.push({ store: s, raw: await viaRaw() });
    } else {
      const w = await viaRaw();
      rounds.push({ store: await viaStore(), raw: w });
    }
    const last = rounds[rounds.length - 1]!;
    console.log(
      `reports round ${r + 1}/${ROUNDS}: store ${Math.round(last.store)}/s, raw ${Math.round(last.raw)}/s (${(last.store / last.raw).toFixed(3)})`,
    );
  }
  const sorted = [...rounds].sort((a, b) => a.store / a.raw - b.store / b.raw);
  const median = sorted[(sorted.length - 1) >> 1]!;
  return { store: median.store, raw: median.raw, ratio: median.store / median.raw, rounds };
}
