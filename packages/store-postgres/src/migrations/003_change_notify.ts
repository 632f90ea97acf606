/**
 * Every committed change to a target or its actions is announced on the channel `otaflow_change`
 * as `<tenant>\n<controllerId>`, so that every backend on the database forgets what it cached of
 * that target (`changeFeed.ts`). NOTIFY is delivered at commit, in commit order, and only for
 * committed units; PostgreSQL folds a unit's repeats of one payload into one notification.
 * An update that leaves the version as it was (`touchTargets`: a poll time) is not announced.
 */
export const sql = `
CREATE FUNCTION otaflow_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('otaflow_change', OLD.tenant || E'\\n' || OLD.controller_id);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM pg_notify('otaflow_change', NEW.tenant || E'\\n' || NEW.controller_id);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER targets_notify_insert_delete AFTER INSERT OR DELETE ON targets
  FOR EACH ROW EXECUTE FUNCTION otaflow_notify_change();
CREATE TRIGGER targets_notify_update AFTER UPDATE ON targets
  FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
  EXECUTE FUNCTION otaflow_notify_change();
CREATE TRIGGER actions_notify_change AFTER INSERT OR UPDATE OR DELETE ON actions
  FOR EACH ROW EXECUTE FUNCTION otaflow_notify_change();
`;
