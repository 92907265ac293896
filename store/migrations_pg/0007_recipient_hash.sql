-- PostgreSQL's form of migrations/0007_recipient_hash.sql.
ALTER TABLE campaign_recipients ADD COLUMN recipient_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX campaign_recipients_lead ON campaign_recipients (lead_id);
