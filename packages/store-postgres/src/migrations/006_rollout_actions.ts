/**
 * A rollout group's progress counts its actions by status each evaluation round; without an
 * index that is a scan of every action of the tenant per group per round. The expression is the
 * list query's own for `rolloutGroupId` (listSql.ts), so the planner can use it (a partial index
 * would need the query to repeat its predicate).
 */
export const sql = `
CREATE INDEX actions_of_rollout_group
  ON actions (
    tenant,
    (CASE WHEN jsonb_typeof(state->'context'->'rolloutGroupId') = 'number'
          THEN (state->'context'->'rolloutGroupId')::text::numeric END),
    status
  );
`;
