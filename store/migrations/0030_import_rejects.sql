-- The rows an import rejected, with the reason for each. They used to be CSV files in the data
-- directory of the process that ran the import: another process on the same database could not
-- show them, and neither retention nor erasure reached them, though they hold what anyone put
-- in a file or a form about a person. The columns are those of a rejects file (see
-- importer.RejectedRow), so a download is the file it used to be.
--
-- email_hash is the suppression-keyed hash of the address as RejectEmailKey gives it, so that
-- erasure and an access request find a person's rejected rows without reading every row; it
-- is NULL when the row has no address at all.
CREATE TABLE import_rejects (
	id INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL REFERENCES import_runs (id) ON DELETE CASCADE,
	row_no INTEGER NOT NULL,
	reason TEXT NOT NULL,
	email TEXT NOT NULL DEFAULT '',
	name TEXT NOT NULL DEFAULT '',
	company TEXT NOT NULL DEFAULT '',
	country TEXT NOT NULL DEFAULT '',
	business_id TEXT NOT NULL DEFAULT '',
	job_title TEXT NOT NULL DEFAULT '',
	website TEXT NOT NULL DEFAULT '',
	phone TEXT NOT NULL DEFAULT '',
	city TEXT NOT NULL DEFAULT '',
	email_hash TEXT,
	created_at TEXT NOT NULL
);
CREATE INDEX import_rejects_run ON import_rejects (run_id, id);
CREATE INDEX import_rejects_email_hash ON import_rejects (email_hash) WHERE email_hash IS NOT NULL;
CREATE INDEX import_rejects_created ON import_rejects (created_at);
