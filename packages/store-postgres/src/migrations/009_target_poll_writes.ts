/**
 * A poll time (`touchTargets`) rewrites a target's record and nothing else; a fleet on a 5-minute
 * interval writes thousands a second. Each was a non-HOT update, an entry in every index of the
 * table, because one index read the record itself (007's group expression). The group gets a
 * generated column of its own, indexed as before, so that no index reads the record any more,
 * and pages keep room for the new row version: then a poll time is a HOT update, on its page,
 * with no index entry.
 */
export const sql = `
ALTER TABLE targets SET (fillfactor = 85);
ALTER TABLE targets ADD COLUMN target_group text GENERATED ALWAYS AS
  (CASE WHEN jsonb_typeof(record->'group') = 'string' THEN record->>'group' END) STORED;
DROP INDEX targets_group_ci;
CREATE INDEX targets_group_ci ON targets (tenant, lower(target_group) text_pattern_ops);
`;
