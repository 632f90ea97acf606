/**
 * A committed change to a tenant's configuration (the `tenantConfiguration` collection) is
 * announced on migration 003's channel as `<tenant>\n\u0001configuration`: a payload no controller
 * id can have (ids hold no control characters), so every backend's change feed tells it apart and
 * rereads the tenant's keys at once (DDI's tokens and polling time among them).
 */
export const sql = `
CREATE FUNCTION otaflow_notify_configuration() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_ collection_records;
BEGIN
  IF TG_OP = 'DELETE' THEN row_ := OLD; ELSE row_ := NEW; END IF;
  IF row_.collection = 'tenantConfiguration' THEN
    PERFORM pg_notify('otaflow_change', row_.tenant || E'\\n' || chr(1) || 'configuration');
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER collection_records_notify_configuration
  AFTER INSERT OR UPDATE OR DELETE ON collection_records
  FOR EACH ROW EXECUTE FUNCTION otaflow_notify_configuration();
`;
