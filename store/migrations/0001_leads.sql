-- Leads, the import runs that supplied them, and one observation per imported row.
-- Times are UTC text in one format (see store.formatTime) so that they sort and compare as text.

CREATE TABLE import_runs (
    id            INTEGER PRIMARY KEY,
    source        TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('upload', 'public', 'website')),
    file_name     TEXT    NOT NULL DEFAULT '',
    file_sha256   TEXT    NOT NULL DEFAULT '',
    actor         TEXT    NOT NULL,
    started_at    TEXT    NOT NULL,
    heartbeat_at  TEXT    NOT NULL,
    finished_at   TEXT,
    status        TEXT    NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    error         TEXT    NOT NULL DEFAULT '',
    rows_read     INTEGER NOT NULL DEFAULT 0,
    inserted      INTEGER NOT NULL DEFAULT 0,
    updated       INTEGER NOT NULL DEFAULT 0,
    unchanged     INTEGER NOT NULL DEFAULT 0,
    rejected      INTEGER NOT NULL DEFAULT 0,
    suppressed    INTEGER NOT NULL DEFAULT 0,
    duplicates    INTEGER NOT NULL DEFAULT 0,
    unmapped      TEXT    NOT NULL DEFAULT ''  -- unmapped input columns, one per line
);
CREATE INDEX import_runs_source ON import_runs (source, started_at);

-- Each *_run column names the import run that supplied the current value of that field,
-- so that every value a lead holds knows its origin. first_run_id never changes. The *_run
-- columns carry no foreign key: runs are never deleted, and nine reference checks per row
-- would cost imports a third of their speed.
CREATE TABLE leads (
    id                 INTEGER PRIMARY KEY,
    email              TEXT    NOT NULL UNIQUE,
    name               TEXT    NOT NULL DEFAULT '',
    company            TEXT    NOT NULL DEFAULT '',
    country            TEXT    NOT NULL DEFAULT '',
    business_id        TEXT    NOT NULL DEFAULT '',
    job_title          TEXT    NOT NULL DEFAULT '',
    website            TEXT    NOT NULL DEFAULT '',
    phone              TEXT    NOT NULL DEFAULT '',
    city               TEXT    NOT NULL DEFAULT '',
    email_run          INTEGER,
    name_run           INTEGER,
    company_run        INTEGER,
    country_run        INTEGER,
    business_id_run    INTEGER,
    job_title_run      INTEGER,
    website_run        INTEGER,
    phone_run          INTEGER,
    city_run           INTEGER,
    first_run_id       INTEGER NOT NULL REFERENCES import_runs (id),
    state              TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL
);
CREATE INDEX leads_country ON leads (country);

-- One row per accepted input row, append-only. fields is a bit set of the lead fields the row
-- supplied (leadmailer.FieldSet) and received holds their values as received, joined by U+001F
-- in field order: compact, because there is one of these per imported row. A rowid table with
-- an index on lead_id, rather than a table clustered by lead: a re-import then appends rows and
-- scatters only small index entries, instead of scattering whole rows across the file.
CREATE TABLE observations (
    id        INTEGER PRIMARY KEY,
    lead_id   INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    run_id    INTEGER NOT NULL REFERENCES import_runs (id),
    row_no    INTEGER NOT NULL,
    fields    INTEGER NOT NULL,
    received  TEXT    NOT NULL
);
CREATE INDEX observations_lead ON observations (lead_id, run_id);

-- Addresses that must never be imported or mailed again, kept as keyed hashes so that the
-- list survives erasure without keeping the address.
CREATE TABLE suppressions (
    hash        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL DEFAULT 'address',
    reason      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX suppressions_created ON suppressions (created_at);
