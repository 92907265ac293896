-- What the mail ecosystem reports after a relay accepted a message: bounces (delivery status
-- notifications, provider events) and spam complaints. One row per recipient a report names,
-- tied to the send ledger by campaign and lead.
--
-- report_key is the report's own ID with the recipient: a provider that retries a webhook,
-- or a bounce delivered twice, is counted once. action says what leadmailer did about it:
-- marked (the lead made undeliverable), counted (a soft bounce below the limit, or a lead
-- already marked), suppressed (a complaint), held (part of a burst from one reporter,
-- which paused the campaign instead of marking the lead).
--
-- lead_id carries no foreign key, as in the ledger: erasure clears diagnostic, which may
-- quote the address, and keeps the fact that a message to lead N bounced.
CREATE TABLE bounces (
    id           INTEGER PRIMARY KEY,
    report_key   TEXT    NOT NULL UNIQUE,
    campaign_id  INTEGER NOT NULL,
    lead_id      INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint')),
    status       TEXT    NOT NULL DEFAULT '',
    diagnostic   TEXT    NOT NULL DEFAULT '',
    reporter     TEXT    NOT NULL DEFAULT '',
    via          TEXT    NOT NULL,
    format       TEXT    NOT NULL DEFAULT '',
    action       TEXT    NOT NULL CHECK (action IN ('marked', 'counted', 'suppressed', 'held')),
    received_at  TEXT    NOT NULL
);
CREATE INDEX bounces_burst ON bounces (campaign_id, reporter, kind, received_at);
CREATE INDEX bounces_lead ON bounces (lead_id, kind, received_at);

-- The ledger row's outcome after delivery: '' (none reported), hard, soft or complaint, with
-- the status and diagnostic of the report that set it.
ALTER TABLE campaign_recipients ADD COLUMN bounce TEXT NOT NULL DEFAULT '';
ALTER TABLE campaign_recipients ADD COLUMN bounce_status TEXT NOT NULL DEFAULT '';
ALTER TABLE campaign_recipients ADD COLUMN bounce_diagnostic TEXT NOT NULL DEFAULT '';
ALTER TABLE campaign_recipients ADD COLUMN bounced_at TEXT;

-- How many of a campaign's rows have each outcome, kept with every change of the bounce
-- column: the rate check after each report reads these instead of counting the ledger.
CREATE TABLE campaign_bounce_counts (
    campaign_id  INTEGER PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    hard         INTEGER NOT NULL DEFAULT 0,
    soft         INTEGER NOT NULL DEFAULT 0,
    complaint    INTEGER NOT NULL DEFAULT 0
);
