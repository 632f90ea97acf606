/**
 * The first schema. Every row carries its tenant and every key starts with it, so tenants can
 * share one database later. Records are kept whole as jsonb (the store's contract is the record);
 * the columns beside it are derived on write, for what lists, filters and lookups need.
 * PostgreSQL 15 SQL only: PGlite accepts newer SQL that a production server would refuse.
 */
export const sql = `
CREATE TABLE targets (
  tenant text NOT NULL,
  controller_id text NOT NULL,
  -- Insertion order, the lists' stable order.
  seq bigint GENERATED ALWAYS AS IDENTITY,
  version integer NOT NULL,
  name text NOT NULL,
  update_status text NOT NULL,
  created_at timestamptz NOT NULL,
  last_modified_at timestamptz NOT NULL,
  record jsonb NOT NULL,
  PRIMARY KEY (tenant, controller_id)
);
CREATE INDEX targets_order ON targets (tenant, seq);
CREATE INDEX targets_update_status ON targets (tenant, update_status);

CREATE TABLE actions (
  tenant text NOT NULL,
  id bigint NOT NULL,
  controller_id text NOT NULL,
  version integer NOT NULL,
  status text NOT NULL,
  active boolean NOT NULL,
  distribution_set_id bigint NOT NULL,
  created_at timestamptz NOT NULL,
  refs jsonb,
  applied jsonb,
  state jsonb NOT NULL,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX actions_of_target ON actions (tenant, controller_id, id);
-- findActionByRef: refs @> {"key": "value"}.
CREATE INDEX actions_refs ON actions USING gin (refs jsonb_path_ops);

CREATE TABLE software_modules (
  tenant text NOT NULL,
  id bigint NOT NULL,
  revision integer NOT NULL,
  type text NOT NULL,
  name text NOT NULL,
  version text NOT NULL,
  record jsonb NOT NULL,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX software_modules_key ON software_modules (tenant, type, name, version);

CREATE TABLE distribution_sets (
  tenant text NOT NULL,
  id bigint NOT NULL,
  revision integer NOT NULL,
  name text NOT NULL,
  version text NOT NULL,
  record jsonb NOT NULL,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX distribution_sets_key ON distribution_sets (tenant, name, version, id);

CREATE TABLE sequences (
  tenant text NOT NULL,
  name text NOT NULL,
  value bigint NOT NULL,
  PRIMARY KEY (tenant, name)
);
`;
