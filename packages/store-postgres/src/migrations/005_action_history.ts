/**
 * An action's status history as rows, appended and never rewritten: a report adds its entries,
 * nothing else. Entry `seq` is its position in the action's whole history (core's
 * `historyDropped + index`), so the bound (hawkBit keeps the newest 1000) only moves
 * `history_start`; the rows before it stay, as hawkBit's history would in an audit.
 * `actions.state` keeps the machine without its history; the store joins them on read.
 */
export const sql = `
CREATE TABLE action_status (
  tenant text NOT NULL,
  action_id bigint NOT NULL,
  seq bigint NOT NULL,
  entry jsonb NOT NULL,
  PRIMARY KEY (tenant, action_id, seq),
  FOREIGN KEY (tenant, action_id) REFERENCES actions (tenant, id) ON DELETE CASCADE
);
ALTER TABLE actions
  ADD COLUMN history_start bigint NOT NULL DEFAULT 0,
  ADD COLUMN history_end bigint NOT NULL DEFAULT 0;
INSERT INTO action_status (tenant, action_id, seq, entry)
  SELECT a.tenant, a.id, COALESCE((a.state #>> '{context,historyDropped}')::bigint, 0) + x.o, x.e
    FROM actions a,
         jsonb_array_elements(COALESCE(a.state #> '{context,history}', '[]'::jsonb)) WITH ORDINALITY AS x(e, o);
UPDATE actions
   SET history_start = COALESCE((state #>> '{context,historyDropped}')::bigint, 0),
       history_end = COALESCE((state #>> '{context,historyDropped}')::bigint, 0)
                     + jsonb_array_length(COALESCE(state #> '{context,history}', '[]'::jsonb)),
       state = state #- '{context,history}';
`;
