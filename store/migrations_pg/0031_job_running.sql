-- PostgreSQL's form of migrations/0031_job_running.sql.
CREATE TABLE job_running (
	job TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	occurrence TEXT COLLATE "C" NOT NULL,
	held_by TEXT COLLATE "C" NOT NULL,
	started_at TEXT COLLATE "C" NOT NULL,
	lease_until TEXT COLLATE "C" NOT NULL
);
