-- PostgreSQL's form of migrations/0020_sent_subject.sql.
ALTER TABLE campaign_recipients ADD COLUMN subject TEXT NOT NULL DEFAULT '';
