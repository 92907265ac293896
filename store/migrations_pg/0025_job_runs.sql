-- PostgreSQL's form of migrations/0025_job_runs.sql.
CREATE TABLE job_runs (
	job TEXT COLLATE "C" NOT NULL,
	occurrence TEXT COLLATE "C" NOT NULL,
	claimed_by TEXT COLLATE "C" NOT NULL,
	claimed_at TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (job, occurrence)
);
