-- The privacy lifecycle: retention states with their dates, the data a website query brings,
-- and suppression of whole organisations (by domain or business ID) next to single addresses.

-- inactive_since is set when a lead becomes inactive (retention, an objection, the end of the
-- relationship) and cleared when it is reactivated; deletion counts from it. activity_at is
-- the last activity other than an import observation: a website query, a reactivation.
ALTER TABLE leads ADD COLUMN inactive_since TEXT;
ALTER TABLE leads ADD COLUMN activity_at TEXT;
CREATE INDEX leads_state ON leads (state, inactive_since);

-- One row per query submitted on the company's website, with what the privacy policy lists:
-- the time, the IP address and the browser. consent_version is the version of the marketing
-- consent text the person ticked, NULL when the box was left empty. Deleted with the lead.
CREATE TABLE website_queries (
    id               INTEGER PRIMARY KEY,
    lead_id          INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    run_id           INTEGER NOT NULL REFERENCES import_runs (id),
    received_at      TEXT    NOT NULL,
    ip               TEXT    NOT NULL,
    user_agent       TEXT    NOT NULL,
    message          TEXT    NOT NULL,
    consent_version  TEXT
);
CREATE INDEX website_queries_lead ON website_queries (lead_id);

-- The suppression list gains kinds (a single address, a whole domain, a business ID), where
-- the entry came from, and for objections the campaign whose link was used. SQLite cannot add
-- a CHECK to an existing table, so the table is rebuilt; it holds hashes only.
CREATE TABLE suppressions_v2 (
    hash         TEXT    PRIMARY KEY,
    kind         TEXT    NOT NULL DEFAULT 'address' CHECK (kind IN ('address', 'domain', 'business_id')),
    origin       TEXT    NOT NULL DEFAULT 'admin' CHECK (origin IN ('admin', 'objection', 'erasure')),
    reason       TEXT    NOT NULL DEFAULT '',
    campaign_id  INTEGER,
    created_at   TEXT    NOT NULL
) WITHOUT ROWID;
INSERT INTO suppressions_v2 (hash, kind, reason, created_at)
    SELECT hash, kind, reason, created_at FROM suppressions;
DROP TABLE suppressions;
ALTER TABLE suppressions_v2 RENAME TO suppressions;
CREATE INDEX suppressions_created ON suppressions (created_at);
