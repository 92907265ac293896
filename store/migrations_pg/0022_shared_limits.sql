-- PostgreSQL's form of migrations/0022_shared_limits.sql: the comments there explain the tables.
CREATE TABLE throttle_counts (
    key           TEXT    PRIMARY KEY,
    window_start  TEXT    NOT NULL,
    expires_at    TEXT    NOT NULL,
    count         INTEGER NOT NULL,
    note          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX throttle_counts_expires ON throttle_counts (expires_at);

CREATE TABLE rate_buckets (
    key   TEXT    PRIMARY KEY,
    tat   BIGINT  NOT NULL
);
CREATE INDEX rate_buckets_tat ON rate_buckets (tat);

CREATE TABLE pending_uploads (
    id          TEXT    PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name   TEXT    NOT NULL,
    size        BIGINT  NOT NULL,
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
    data       BYTEA   NOT NULL,
    PRIMARY KEY (upload_id, seq)
);
