-- The send ledger meets the privacy lifecycle.
--
-- recipient_hash is the suppression hash (the keyed hash of the normalised address) of the
-- person a message went to. It is written with the "sending" mark, which is committed before
-- the message is handed to the mail server, so every message that left has it. A lead
-- deleted by retention leaves its ledger rows without an address; the hash lets the
-- unsubscribe link in such a message still suppress the address, without keeping the
-- address. Erasure clears it: the suppression record is then all that remains.
ALTER TABLE campaign_recipients ADD COLUMN recipient_hash TEXT NOT NULL DEFAULT '';

-- A lead's ledger rows: its export lists them, erasure and deletion clear their personal
-- fields, and retention counts its last send as activity. Only lead_id is indexed, so that
-- marking a row sending or sent, twice per message, still touches no index.
CREATE INDEX campaign_recipients_lead ON campaign_recipients (lead_id);
