-- PostgreSQL's form of migrations/0015_campaign_body_language.sql.
ALTER TABLE campaigns ADD COLUMN body_language TEXT NOT NULL DEFAULT '';
