-- The subject as it was sent to each recipient: a subject template names the lead
-- ({{.Lead.FirstName}}, {{.Lead.Company}}), so the campaign's template does not say what a
-- person got. Written with the "sending" mark; emptied when the lead is deleted or erased,
-- since it may hold the person's name.
ALTER TABLE campaign_recipients ADD COLUMN subject TEXT NOT NULL DEFAULT '';
