/**
 * hawkBit's target group lives in the target's record (`record->'group'`, no column of its own);
 * this index serves a group's list and its sub-groups' prefix (`group==Europe/*`), written as the
 * list SQL reads the field (listSql.ts), so that the planner matches the expression.
 */
export const sql = `
CREATE INDEX targets_group_ci ON targets
  (tenant, lower((CASE WHEN jsonb_typeof(record->'group') = 'string' THEN record->>'group' END)) text_pattern_ops);
`;
