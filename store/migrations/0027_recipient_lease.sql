-- A recipient row is leased by the process about to send it, until lease_until, so that
-- several processes can send one campaign. The lease is renewed while the process lives,
-- so a row whose lease has run out belongs to a process that died and goes back to the
-- queue. leased_by names the process ('' when not leased); lease_until is NULL then.
ALTER TABLE campaign_recipients ADD COLUMN lease_until TEXT;
ALTER TABLE campaign_recipients ADD COLUMN leased_by TEXT NOT NULL DEFAULT '';
CREATE INDEX campaign_recipients_leased ON campaign_recipients (campaign_id, leased_by) WHERE leased_by <> '';
