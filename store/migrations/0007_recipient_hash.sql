-- The send ledger meets the privacy lifecycle.
--
-- recipient_hash is the suppression hash (the keyed hash of the normalised address) of the
-- person a ledger row is for, set when the row is queued. A lead deleted by retention leaves
-- its ledger rows without an address; the hash lets an unsubscribe link it was sent still
-- suppress the address, without keeping the address. Rows queued before this migration keep
-- '' and are filled in the next time their campaign resolves its audience.
ALTER TABLE campaign_recipients ADD COLUMN recipient_hash TEXT NOT NULL DEFAULT '';

-- A lead's ledger rows: its export lists them, erasure and deletion clear their personal
-- fields, and retention counts its last send as activity. Only lead_id is indexed, so that
-- marking a row sending or sent, twice per message, still touches no index.
CREATE INDEX campaign_recipients_lead ON campaign_recipients (lead_id);
