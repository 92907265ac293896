-- Nearly every lead is active, so the index of all leads by state and inactive_since
-- (0006) held one and the same key for almost every row, and every lead an import inserted
-- cost an insert into it: inserting 200,000 new leads wrote 658 bytes of WAL and touched 9.8
-- buffers a lead with it, 585 bytes and 7.8 buffers with this index (as many as without
-- any; pg_stat_statements, PostgreSQL 15). Only inactive leads are worth finding
-- through an index (the lead list's filter by state); retention and the counts by state
-- read the whole table either way.
DROP INDEX leads_state;
CREATE INDEX leads_inactive ON leads (inactive_since) WHERE state = 'inactive';
