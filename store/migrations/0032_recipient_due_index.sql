-- A claim of recipients (LeasePending) walked the queued rows in ID order and read each one
-- to compare its retry time: rows waiting for a retry not yet due at low IDs were read again
-- by every claim, 50,000 of them adding about 6 ms a claim (SQLite) at 200,000 recipients.
-- Ordered by retry time, the rows due now (never tried: '', or a retry time passed) are one
-- range of this index, and the ones still waiting are past its end.
CREATE INDEX campaign_recipients_due ON campaign_recipients (campaign_id, not_before, id) WHERE status = 'queued';
