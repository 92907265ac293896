-- What the serve processes on one database must agree on, kept in the database rather than in
-- each process's memory: the login throttle's counts, the rate limits of the API and the
-- public forms, and the CSV uploads waiting for their preview to be confirmed.

-- A count of events under one key in a window that opens with the first event and lasts a
-- fixed time: failed logins per address or name, refused logins waiting to be written to the
-- audit trail in one entry (those carry a note), the addresses a name logged in from. key is
-- a keyed hash of what is counted (a typed name may be a password typed into the wrong
-- field), never the text. A row whose window has ended is deleted by the next sweep.
CREATE TABLE throttle_counts (
    key           TEXT    PRIMARY KEY,
    window_start  TEXT    NOT NULL,
    expires_at    TEXT    NOT NULL,
    count         INTEGER NOT NULL,
    note          TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX throttle_counts_expires ON throttle_counts (expires_at);

-- A token bucket as the generic cell rate algorithm keeps it: one number, the time (Unix
-- nanoseconds, an integer because the check is arithmetic on it) at which the bucket would be
-- full again. A bucket whose time has passed is full, the same as no row, so the sweep
-- deletes it.
CREATE TABLE rate_buckets (
    key   TEXT    PRIMARY KEY,
    tat   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rate_buckets_tat ON rate_buckets (tat);

-- A CSV file uploaded in the web app, waiting for its user to check the preview and start
-- the import, whichever process those requests reach. size is -1 until the whole file is
-- stored. The file is kept in chunks, so that no process holds more than one in memory.
CREATE TABLE pending_uploads (
    id          TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name   TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    encoding    TEXT    NOT NULL DEFAULT '',
    delimiter   TEXT    NOT NULL DEFAULT '',
    mapping     TEXT    NOT NULL DEFAULT '{}',
    created_at  TEXT    NOT NULL,
    claimed_at  TEXT
);
CREATE INDEX pending_uploads_user ON pending_uploads (user_id, created_at);
CREATE INDEX pending_uploads_created ON pending_uploads (created_at);

CREATE TABLE pending_upload_chunks (
    upload_id  TEXT    NOT NULL REFERENCES pending_uploads (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    data       BLOB    NOT NULL,
    PRIMARY KEY (upload_id, seq)
) WITHOUT ROWID;
