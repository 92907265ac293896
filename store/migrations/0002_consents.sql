-- Consents a lead gave to marketing, for example by ticking the box on the website's query
-- form. Leads in countries where B2B cold e-mail needs prior consent are mailed only while
-- they hold one that is not withdrawn. The consent text's version records what was agreed to.
CREATE TABLE consents (
    id            INTEGER PRIMARY KEY,
    lead_id       INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    purpose       TEXT    NOT NULL DEFAULT 'marketing',
    text_version  TEXT    NOT NULL,
    given_at      TEXT    NOT NULL,
    run_id        INTEGER REFERENCES import_runs (id),
    withdrawn_at  TEXT
);
CREATE INDEX consents_lead ON consents (lead_id);
