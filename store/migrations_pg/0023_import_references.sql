-- The references of the import's bulk tables, checked once per statement instead of once per
-- row. As foreign keys, each observation and each new lead ran a lookup and a row lock per
-- reference (three a new lead): more than half of the import's time on the server. SQLite's
-- import skips those checks on its connection instead (see ImportWriter.begin), which
-- PostgreSQL cannot do without superuser rights. migrations/0023 is the empty twin.
--
-- What the foreign keys did, the triggers below do:
--   observations.lead_id -> leads (id) ON DELETE CASCADE
--   observations.run_id  -> import_runs (id)
--   leads.first_run_id   -> import_runs (id)
-- Each trigger's arguments name the tables its table refers to, so that the copy of a database
-- (CopyTo) still finds the order of the tables in the catalogue.
ALTER TABLE observations DROP CONSTRAINT observations_lead_id_fkey;
ALTER TABLE observations DROP CONSTRAINT observations_run_id_fkey;
ALTER TABLE leads DROP CONSTRAINT leads_first_run_id_fkey;

-- Every observation a statement writes names a stored lead and a stored run. A batch's rows
-- name one run: its distinct runs are looked up, not each row's.
CREATE FUNCTION observations_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = n.lead_id)) THEN
        RAISE EXCEPTION 'an observation refers to a lead that does not exist'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'observations';
    END IF;
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT run_id FROM new_rows) n
            WHERE NOT EXISTS (SELECT 1 FROM import_runs r WHERE r.id = n.run_id)) THEN
        RAISE EXCEPTION 'an observation refers to an import run that does not exist'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'observations';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER observations_references_insert AFTER INSERT ON observations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION observations_check_references('leads', 'import_runs');
CREATE TRIGGER observations_references_update AFTER UPDATE ON observations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION observations_check_references('leads', 'import_runs');

-- Every lead a statement writes names a stored first run.
CREATE FUNCTION leads_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT first_run_id FROM new_rows) n
            WHERE NOT EXISTS (SELECT 1 FROM import_runs r WHERE r.id = n.first_run_id)) THEN
        RAISE EXCEPTION 'a lead refers to an import run that does not exist'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'leads';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER leads_references_insert AFTER INSERT ON leads
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION leads_check_references('import_runs');
CREATE TRIGGER leads_references_update AFTER UPDATE ON leads
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION leads_check_references('import_runs');

-- Deleting leads deletes their observations, as ON DELETE CASCADE did. The foreign key locked
-- each referenced lead so that a delete waited for the inserting transaction; here the delete
-- takes the writer lock every store write transaction holds (writerLockKey in postgres.go,
-- 0x6c6d0001), so it waits for a running import batch to commit and then, in a new snapshot,
-- deletes that batch's observations too.
CREATE FUNCTION leads_delete_observations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1819082753);
    DELETE FROM observations WHERE lead_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;
CREATE TRIGGER leads_delete_observations AFTER DELETE ON leads
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION leads_delete_observations();

-- A run that leads or observations name cannot be deleted, as the foreign keys' NO ACTION had it.
CREATE FUNCTION import_runs_check_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows o WHERE EXISTS (SELECT 1 FROM observations b WHERE b.run_id = o.id)
            OR EXISTS (SELECT 1 FROM leads l WHERE l.first_run_id = o.id)) THEN
        RAISE EXCEPTION 'an import run that leads or observations refer to cannot be deleted'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'import_runs';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER import_runs_check_delete AFTER DELETE ON import_runs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION import_runs_check_delete();
