/**
 * What the outbox costs a unit of work: closing reports (a DDI `closed/success`: the action, its
 * status row and its target in one unit) through `UpdateService` on the PostgreSQL store, with
 * the outbox on (the unit's two events written for two channels, in the same transaction) and
 * off, the same number of reports at the same concurrency, on two tenants of one database.
 * Rounds alternate (off, on, on, off, ...); the ratio is on/off over all rounds.
 */
import { UpdateService } from '@otaflow/core';
import type { Db } from '../src/index.js';
import { PostgresUpdateStore } from '../src/index.js';

const ACTIONS = 2_000;
const CONCURRENCY = 64;
const ROUNDS = 4;

export interface OutboxFigures {
  withOutbox: number;
  without: number;
  ratio: number;
}

async function prepared(db: Db, tenant: string, outbox: boolean) {
  const store = new PostgresUpdateStore(db, tenant, db);
  const service = new UpdateService({
    store,
    ...(outbox ? { outbox: { channels: ['sie', 'commands'] } } : {}),
  });
  const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
  const set = await service.createDistributionSet({
    name: 'fw',
    version: '1',
    modules: [module.id],
  });
  const ids: number[] = [];
  for (let i = 0; i < ACTIONS; i += 500) {
    const batch = Array.from({ length: Math.min(500, ACTIONS - i) }, (_, k) => ({
      controllerId: `device-${i + k}`,
    }));
    for (const t of batch) await service.createTarget(t);
    ids.push(...(await service.assign(set.id, batch)).actions.map((a) => a.id));
  }
  // Whatever setting up wrote to the outbox is not what is measured.
  await db.query('DELETE FROM outbox WHERE tenant = $1', [tenant]);
  return { service, ids };
}

/** Closes `ids` over `CONCURRENCY` workers; units/s. */
async function close(service: UpdateService, ids: readonly number[]): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < ids.length; i = next++) {
        const result = await service.apply(ids[i]!, {
          type: 'action.finished',
          result: 'success',
          at: Date.now(),
        });
        if (!result.ok) throw new Error(`report refused: ${JSON.stringify(result)}`);
      }
    }),
  );
  return ids.length / ((performance.now() - start) / 1000);
}

export async function benchOutbox(db: Db): Promise<OutboxFigures> {
  const off = await prepared(db, 'outbox-off', false);
  const on = await prepared(db, 'outbox-on', true);
  const per = Math.floor(ACTIONS / ROUNDS);
  let timeOn = 0;
  let timeOff = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const slice = (ids: number[]) => ids.slice(r * per, (r + 1) * per);
    const order = r % 2 === 0 ? [false, true] : [true, false];
    for (const outbox of order) {
      const rate = await close(outbox ? on.service : off.service, slice(outbox ? on.ids : off.ids));
      if (outbox) timeOn += per / rate;
      else timeOff += per / rate;
      console.log(`outbox round ${r + 1}: ${outbox ? 'on ' : 'off'} ${Math.round(rate)} units/s`);
    }
  }
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM outbox WHERE tenant = 'outbox-on'",
  );
  // Two events (ACTION_UPDATED, TARGET_UPDATED) per closing report, for two channels.
  if (rows[0]?.n !== per * ROUNDS * 4) throw new Error(`outbox holds ${rows[0]?.n} entries`);
  const withOutbox = (per * ROUNDS) / timeOn;
  const without = (per * ROUNDS) / timeOff;
  return { withOutbox, without, ratio: withOutbox / without };
}
