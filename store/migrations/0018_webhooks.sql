-- Outgoing webhooks: which endpoint wants which event, and the durable queue of deliveries.

-- serve writes the [[webhooks]] endpoints and their event types here when it starts, so that
-- every process (a CLI import, a bounce ingest) enqueues an event for each subscribed
-- endpoint in the same transaction as the change it reports, without reading the
-- configuration. The secrets stay in the configuration.
CREATE TABLE webhook_subscriptions (
    event_type  TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    PRIMARY KEY (event_type, endpoint)
) WITHOUT ROWID;

-- One row per event and endpoint. event_id is derived from the thing reported (the import
-- run, the bounce, the lead's objection), so enqueueing the same event again changes nothing,
-- and receivers dedupe on it: a delivery is marked delivered only after the 2xx, so a crash
-- in between sends it again with the same id.
-- payload is the event's data object (JSON). It never holds an address: lead_id names the
-- lead, and the address is read at delivery time, only for an endpoint with include_email,
-- so that an erased lead's address is not kept, or sent, from here.
-- status: pending (due at next_attempt_at), sending (claimed by serve's sender; a start
-- puts such rows back to pending), delivered, failed (given up, or the endpoint answered
-- 410 Gone). queued_at starts the day of retries; a replay resets it.
CREATE TABLE webhook_deliveries (
    id                INTEGER PRIMARY KEY,
    event_id          TEXT    NOT NULL,
    event_type        TEXT    NOT NULL,
    payload           TEXT    NOT NULL,
    lead_id           INTEGER,
    endpoint          TEXT    NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   TEXT    NOT NULL,
    last_status_code  INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT    NOT NULL DEFAULT '',
    created_at        TEXT    NOT NULL,
    queued_at         TEXT    NOT NULL,
    delivered_at      TEXT,
    UNIQUE (endpoint, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);
