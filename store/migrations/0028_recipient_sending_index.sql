-- Every claim of a batch of recipients first queues again the rows a dead process left
-- "sending" (LeasePending). Without an index on those few rows that looked through the whole
-- campaign on every batch: about 30 ms a batch at 200,000 recipients.
CREATE INDEX campaign_recipients_sending ON campaign_recipients (campaign_id) WHERE status = 'sending';
