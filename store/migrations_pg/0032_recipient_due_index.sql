-- PostgreSQL's form of migrations/0032_recipient_due_index.sql.
CREATE INDEX campaign_recipients_due ON campaign_recipients (campaign_id, not_before, id) WHERE status = 'queued';
