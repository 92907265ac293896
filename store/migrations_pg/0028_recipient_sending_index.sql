-- PostgreSQL's form of migrations/0028_recipient_sending_index.sql.
CREATE INDEX campaign_recipients_sending ON campaign_recipients (campaign_id) WHERE status = 'sending';
