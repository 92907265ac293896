-- Scheduled imports from public databases: what each source remembers between runs, and the
-- provenance a source adds to an observation (the record's identifier at the source and the
-- URL or file it came from).

-- skipped counts records without an e-mail address that matched no lead by business ID.
-- not_modified marks a completed run that found its source unchanged: it is reported with
-- the status "unchanged" (the status column's check predates that status, and SQLite cannot
-- change a check without rebuilding a table every other table references).
ALTER TABLE import_runs ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_runs ADD COLUMN not_modified INTEGER NOT NULL DEFAULT 0;

-- Registry records usually carry no e-mail address; they enrich the leads that have their
-- business ID. Partial, so that leads without one cost the index nothing.
CREATE INDEX leads_business_id ON leads (business_id) WHERE business_id <> '';

-- The HTTP validators of a source's last complete fetch, for conditional GET.
CREATE TABLE source_state (
    source         TEXT PRIMARY KEY,
    url            TEXT NOT NULL,
    etag           TEXT NOT NULL DEFAULT '',
    last_modified  TEXT NOT NULL DEFAULT '',
    updated_at     TEXT NOT NULL
);

-- The URLs (one per fetched page) or files a run read, each stored once per run so that
-- an observation refers to its origin by a small number rather than repeating a long URL.
CREATE TABLE run_origins (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES import_runs (id),
    origin        TEXT    NOT NULL,
    retrieved_at  TEXT    NOT NULL,
    UNIQUE (run_id, origin)
);

-- One row per accepted record of a source run, joined to observations by (run_id, row_no):
-- a side table, so that uploads, which have neither, pay nothing for it.
CREATE TABLE source_records (
    run_id     INTEGER NOT NULL REFERENCES import_runs (id),
    row_no     INTEGER NOT NULL,
    record_id  TEXT    NOT NULL,
    origin_id  INTEGER NOT NULL REFERENCES run_origins (id),
    PRIMARY KEY (run_id, row_no)
) WITHOUT ROWID;
