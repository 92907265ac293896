-- PostgreSQL's form of migrations/0009_outcome_unknown.sql.
ALTER TABLE campaign_recipients ADD COLUMN outcome_unknown BIGINT NOT NULL DEFAULT 0;
