-- Campaigns and their send ledger: one row per recipient, committed as it moves
-- queued -> sending -> sent | failed | skipped, so that a crash loses nobody and re-sends at
-- most the messages that were in flight.

-- A lead whose mail server answered "user unknown" (5.1.x) is skipped by later campaigns.
ALTER TABLE leads ADD COLUMN undeliverable_at TEXT;
ALTER TABLE leads ADD COLUMN undeliverable_reason TEXT NOT NULL DEFAULT '';

CREATE TABLE campaigns (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    html         TEXT    NOT NULL,
    text         TEXT    NOT NULL DEFAULT '',
    countries    TEXT    NOT NULL DEFAULT '',  -- ISO codes, comma-separated
    sources      TEXT    NOT NULL DEFAULT '',  -- source names, one per line
    kinds        TEXT    NOT NULL DEFAULT '',  -- source kinds, comma-separated
    send_at      TEXT,
    cron         TEXT    NOT NULL DEFAULT '',
    state        TEXT    NOT NULL CHECK (state IN
                     ('draft', 'scheduled', 'running', 'paused', 'finished', 'cancelled', 'missed')),
    reason       TEXT    NOT NULL DEFAULT '',
    created_by   TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    started_at   TEXT,
    last_run_at  TEXT,
    finished_at  TEXT
);
CREATE INDEX campaigns_state ON campaigns (state);

-- lead_id carries no foreign key: erasing a lead must leave the ledger's record that a
-- message went to lead N, without the address.
CREATE TABLE campaign_recipients (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    lead_id      INTEGER NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
    reason       TEXT    NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_reply   TEXT    NOT NULL DEFAULT '',
    message_id   TEXT    NOT NULL DEFAULT '',
    not_before   TEXT    NOT NULL DEFAULT '',  -- a retried row waits until then
    queued_at    TEXT    NOT NULL,
    sending_at   TEXT,
    done_at      TEXT,
    UNIQUE (campaign_id, lead_id)
);
-- The queue: only queued rows are indexed, so that marking a row sending or sent, twice per
-- message, touches no index.
CREATE INDEX campaign_recipients_queued ON campaign_recipients (campaign_id, id) WHERE status = 'queued';
