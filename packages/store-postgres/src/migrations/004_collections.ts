/**
 * The Management API's smaller resources (tags, types, metadata, target filters, rollouts and
 * their groups, tenant configuration) as rows of one table, one `collection` each: their number
 * is small next to targets and actions, and a new resource then needs no migration of its own.
 * `scope` is the exact key a list narrows to (a target's metadata, a rollout's groups).
 */
export const sql = `
CREATE TABLE collection_records (
  tenant text NOT NULL,
  collection text NOT NULL,
  id bigint NOT NULL,
  revision integer NOT NULL,
  scope text,
  record jsonb NOT NULL,
  PRIMARY KEY (tenant, collection, id)
);
CREATE INDEX collection_records_scope ON collection_records (tenant, collection, scope, id);
`;
