/**
 * The transactional outbox: a unit that changes state writes the domain events it emits here, in
 * its own transaction, once per channel that consumes them (SIE, device commands, platform
 * tasks). A relay claims a bounded batch of its channel with `FOR UPDATE SKIP LOCKED` and a lease
 * (`lease_owner`, `lease_until`): a backend that dies holding a claim gives it up when the lease
 * runs out. Completed entries are deleted, so the table holds only what is still owed. `id` is
 * one sequence for all tenants: increasing in write order, and what a resend's message id is
 * derived from.
 */
export const sql = `
CREATE TABLE outbox (
  tenant text NOT NULL,
  id bigserial NOT NULL,
  channel text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  lease_owner text,
  lease_until timestamptz,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX outbox_channel ON outbox (tenant, channel, id);
`;
