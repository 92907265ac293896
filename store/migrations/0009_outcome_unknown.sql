-- A message whose end the mail server did not answer in time may have been delivered: the
-- row is retried, and outcome_unknown (1) stays set after it, so that a campaign's report
-- can say how many people may have had the message twice.
ALTER TABLE campaign_recipients ADD COLUMN outcome_unknown INTEGER NOT NULL DEFAULT 0;
