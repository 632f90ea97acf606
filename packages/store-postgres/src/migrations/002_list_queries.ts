/**
 * What lists filtered and sorted in SQL need (see listSql.ts). `ip_address` is hawkBit's derived
 * `ipAddress`, written by the store from the address on every target write; rows of 001 get it
 * here from a pattern that reads the URL's host (IPv6 hosts and odd URLs stay empty until the
 * target is next written). The indexes serve the case-insensitive equality and prefix wildcard
 * (`name==abc*`) of the fields a target list is mostly filtered by.
 */
export const sql = `
ALTER TABLE targets ADD COLUMN ip_address text;
UPDATE targets
   SET ip_address = lower(substring(record->>'address' from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^][/?#:@]+)'))
 WHERE record ? 'address' AND record->>'address' NOT ILIKE 'amqp:%';
UPDATE targets SET ip_address = NULL WHERE ip_address = '***';
CREATE INDEX targets_controller_id_ci ON targets (tenant, lower(controller_id) text_pattern_ops);
CREATE INDEX targets_name_ci ON targets (tenant, lower(name) text_pattern_ops);
CREATE INDEX targets_update_status_ci ON targets (tenant, lower(update_status));
CREATE INDEX software_modules_name_ci ON software_modules (tenant, lower(name) text_pattern_ops);
CREATE INDEX distribution_sets_name_ci ON distribution_sets (tenant, lower(name) text_pattern_ops);
CREATE INDEX actions_status_ci ON actions (tenant, lower(status), id);
`;
