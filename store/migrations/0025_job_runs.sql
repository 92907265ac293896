-- One row for each occurrence of a scheduled job that a process has claimed. Several serve
-- processes on one database each run the whole schedule; the process whose insert of
-- (job, occurrence) succeeds runs that occurrence, the others skip it.
CREATE TABLE job_runs (
	job TEXT NOT NULL,
	occurrence TEXT NOT NULL,
	claimed_by TEXT NOT NULL,
	claimed_at TEXT NOT NULL,
	PRIMARY KEY (job, occurrence)
);
