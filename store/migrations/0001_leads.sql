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
-- so that every value a lead holds knows its origin. first_run_id never changes.
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
    email_run          INTEGER REFERENCES import_runs (id),
    name_run           INTEGER REFERENCES import_runs (id),
    company_run        INTEGER REFERENCES import_runs (id),
    country_run        INTEGER REFERENCES import_runs (id),
    business_id_run    INTEGER REFERENCES import_runs (id),
    job_title_run      INTEGER REFERENCES import_runs (id),
    website_run        INTEGER REFERENCES import_runs (id),
    phone_run          INTEGER REFERENCES import_runs (id),
    city_run           INTEGER REFERENCES import_runs (id),
    first_run_id       INTEGER NOT NULL REFERENCES import_runs (id),
    state              TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'inactive')),
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL
);
CREATE INDEX leads_country ON leads (country);

-- One row per accepted input row, append-only. fields is a bit set of the lead fields the row
-- supplied (leadmailer.FieldSet) and received holds their values as received, joined by U+001F
-- in field order: compact, because there is one of these per imported row. Clustered by lead,
-- because provenance is read per lead.
CREATE TABLE observations (
    lead_id   INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    run_id    INTEGER NOT NULL REFERENCES import_runs (id),
    row_no    INTEGER NOT NULL,
    fields    INTEGER NOT NULL,
    received  TEXT    NOT NULL,
    PRIMARY KEY (lead_id, run_id, row_no)
) WITHOUT ROWID;
CREATE INDEX observations_run ON observations (run_id);

-- Addresses that must never be imported or mailed again, kept as keyed hashes so that the
-- list survives erasure without keeping the address.
CREATE TABLE suppressions (
    hash        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL DEFAULT 'address',
    reason      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
) WITHOUT ROWID;
