-- Marketing consent from the website is double opt-in: ticking the box on the query form only
-- asks for it, and the consent is recorded once the person confirms from the mail sent to the
-- address. Until then a lead in a consent-only country is not mailed.
--
-- One row per consent asked for on the form. AUTOINCREMENT, because the confirmation link
-- names the row by its id: an id freed by erasing a lead must never be given to someone else's
-- request, or an old link would confirm it. Deleted with the lead.
CREATE TABLE consent_requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id       INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    run_id        INTEGER NOT NULL REFERENCES import_runs (id),
    text_version  TEXT    NOT NULL,
    requested_at  TEXT    NOT NULL,
    confirmed_at  TEXT
);
CREATE INDEX consent_requests_lead ON consent_requests (lead_id);

-- A consent confirmed from the website keeps where the confirmation came from (ip), the
-- version of the confirmation's own wording (confirmation_version) and the request it
-- confirmed. Consents recorded before double opt-in have none of them.
ALTER TABLE consents ADD COLUMN ip TEXT;
ALTER TABLE consents ADD COLUMN confirmation_version TEXT;
ALTER TABLE consents ADD COLUMN request_id INTEGER REFERENCES consent_requests (id) ON DELETE SET NULL;
