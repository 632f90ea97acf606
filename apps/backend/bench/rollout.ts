/**
 * A rollout over 100,000 targets on PostgreSQL: created (targets read and split into groups,
 * groups written) and started (every group's 100,000 actions written SCHEDULED, the first group
 * started), through the rollout engine and `UpdateService` on the PostgreSQL store, timed against
 * the raw client writing the same 100,000 action rows with the same batch size. The server is
 * DATABASE_URL or the local default; a scratch database is created and dropped.
 */
import {
  createTargetSnapshot,
  persistTarget,
  ROLLOUT_GROUPS,
  rolloutScope,
  type TargetRecord,
  UpdateService,
} from '@otaflow/core';
import { migrate, openServerDb, PostgresUpdateStore } from '@otaflow/store-postgres';
import { createLogger } from '../src/logger.js';
import { RolloutEngine } from '../src/rollouts/RolloutEngine.js';
import type { Figure } from './harness.js';

const TARGETS = 100_000;
const GROUPS = 10;
const TENANT = 'rollout';
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const log = (line: string) => console.log(`[rollout] ${line}`);
const seconds = (ms: number) => Math.round(ms / 10) / 100;

export async function benchRollout(): Promise<Figure[]> {
  const name = `otaflow_rollout_${process.pid}_${Date.now().toString(36)}`;
  const admin = await openServerDb(adminUrl);
  await admin.exec(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = await openServerDb(url.href);
  try {
    await migrate(db);
    const template: TargetRecord = {
      controllerId: 'x',
      name: 'x',
      securityToken: 'token',
      attributes: {},
      requestAttributes: false,
      version: 0,
      state: persistTarget(createTargetSnapshot({ controllerId: 'x', createdAt: 1 })),
    };
    // The fleet is set up in one statement: what is timed is the rollout, not the fleet.
    await db.query(
      `INSERT INTO targets (tenant, controller_id, version, name, update_status, created_at, last_modified_at, record)
       SELECT $1, 'dev-' || lpad(i::text, 6, '0'), 0, 'dev-' || i, 'REGISTERED', now(), now(),
              $2::text::jsonb || jsonb_build_object('controllerId', 'dev-' || lpad(i::text, 6, '0'), 'name', 'dev-' || i)
         FROM generate_series(1, $3::int) AS i`,
      [TENANT, JSON.stringify(template), TARGETS],
    );
    await db.exec('ANALYZE targets');
    log(`${TARGETS} targets loaded`);

    const store = new PostgresUpdateStore(db, TENANT, db);
    const service = new UpdateService({ store });
    const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '2' });
    const set = await service.createDistributionSet({
      name: 'fw',
      version: '2',
      modules: [module.id],
    });
    const engine = new RolloutEngine({ service, logger: createLogger({ level: 'info' }) });

    let t = performance.now();
    const rollout = await engine.create(
      {
        name: 'fleet',
        distributionSetId: set.id,
        targetFilterQuery: 'controllerId==dev-*',
        amountGroups: GROUPS,
      },
      'bench',
    );
    const createMs = performance.now() - t;
    log(`created: ${rollout.totalTargets} targets in ${GROUPS} groups, ${seconds(createMs)} s`);

    t = performance.now();
    await engine.transition(rollout.id, { type: 'rollout.start' }, 'bench');
    await engine.round();
    const startMs = performance.now() - t;
    const groups = await service.collection(ROLLOUT_GROUPS).list({}, rolloutScope(rollout.id));
    const scheduled = await service.pageActions({
      filter: { kind: 'cmp', field: 'status', op: '==', values: ['SCHEDULED'] },
      limit: 0,
    });
    log(
      `started: ${scheduled.total} actions scheduled, first group ${groups.items[0]?.status}, ${seconds(startMs)} s`,
    );
    await engine.close();

    // The raw client writes the same rows: the actions just written, copied under new ids, in
    // statements of the engine's batch size (500), the history rows beside them.
    const { rows } = await db.query<{ id: string }>(
      'SELECT id FROM actions WHERE tenant = $1 ORDER BY id',
      [TENANT],
    );
    const offset = TARGETS * 10;
    t = performance.now();
    for (let i = 0; i < rows.length; i += 500) {
      const ids = rows.slice(i, i + 500).map((r) => Number(r.id));
      await db.query(
        `WITH src AS (SELECT * FROM actions WHERE tenant = $1 AND id = ANY($2::bigint[])),
              ins AS (INSERT INTO actions (tenant, id, controller_id, version, status, active, distribution_set_id,
                                           created_at, refs, applied, state, history_start, history_end)
                      SELECT tenant, id + $3, controller_id, version, status, active, distribution_set_id,
                             created_at, refs, applied, state, history_start, history_end FROM src RETURNING id)
         INSERT INTO action_status (tenant, action_id, seq, entry)
         SELECT s.tenant, s.action_id + $3, s.seq, s.entry FROM action_status s
          WHERE s.tenant = $1 AND s.action_id = ANY($2::bigint[])`,
        [TENANT, ids, offset],
      );
    }
    const rawMs = performance.now() - t;
    log(`raw client: ${rows.length} action rows in ${seconds(rawMs)} s`);
    return [
      {
        metric: `rollout over ${TARGETS.toLocaleString('en')} targets on PostgreSQL: create (${GROUPS} groups)`,
        value: seconds(createMs),
        unit: 's',
        baseline: seconds(rawMs),
        ratio: Math.round((createMs / rawMs) * 100) / 100,
        goal: null,
      },
      {
        metric: `rollout over ${TARGETS.toLocaleString('en')} targets on PostgreSQL: start (all actions scheduled, first group running) vs raw insert of the same rows`,
        value: seconds(startMs),
        unit: 's',
        baseline: seconds(rawMs),
        ratio: Math.round((startMs / rawMs) * 100) / 100,
        goal: 3,
        ratioBelow: true,
      },
    ];
  } finally {
    await db.close();
    await admin.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.close();
  }
}
