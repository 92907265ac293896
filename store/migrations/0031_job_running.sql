-- One row for each scheduled job whose run is going on, in whichever process: job_runs lets
-- one process run each occurrence, but an "@every" job that outlasts its period would have
-- its next occurrence started beside it by another process. The process that won an
-- occurrence starts it only if it can take this row, and renews lease_until while the run
-- goes on; a row whose lease ran out is the mark of a process that died, and is taken over.
CREATE TABLE job_running (
	job TEXT NOT NULL PRIMARY KEY,
	occurrence TEXT NOT NULL,
	held_by TEXT NOT NULL,
	started_at TEXT NOT NULL,
	lease_until TEXT NOT NULL
);
