-- PostgreSQL's form of migrations/0027_recipient_lease.sql.
ALTER TABLE campaign_recipients ADD COLUMN lease_until TEXT COLLATE "C";
ALTER TABLE campaign_recipients ADD COLUMN leased_by TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX campaign_recipients_leased ON campaign_recipients (campaign_id, leased_by) WHERE leased_by <> '';
