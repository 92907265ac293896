-- The JSON API: its tokens, the responses it keeps for idempotency keys, and the import run
-- kind "api" for leads it upserts.

-- A run of kind "api" holds leads a client pushed through the API. Widening the kind check
-- would take rebuilding import_runs, which nine tables reference; SQLite documents editing the
-- stored CREATE statement instead for loosening a CHECK constraint, which every stored row
-- already satisfies. RESET makes this connection read the schema again; the CREATE TABLE
-- below changes the schema version, so every other connection reads it too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (kind IN (''upload'', ''public'', ''website''))',
    'CHECK (kind IN (''upload'', ''public'', ''website'', ''api''))')
WHERE type = 'table' AND name = 'import_runs';
PRAGMA writable_schema = RESET;

-- token_hash is the SHA-256 of the token the client holds; the token itself is never stored.
-- A revoked token keeps its row, so that "tokens list" and the audit trail can still name it;
-- the name is unique among the tokens not revoked, so a revoked name can be given again.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'marketer', 'viewer')),
    token_hash    TEXT    NOT NULL UNIQUE,
    created_at    TEXT    NOT NULL,
    created_by    TEXT    NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE UNIQUE INDEX api_tokens_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- The answer to a POST that carried an Idempotency-Key, kept for a day so that a client
-- retrying after a lost answer gets the same answer instead of a second import. request_hash
-- is the SHA-256 of the request body: the same key with another body is refused.
CREATE TABLE api_idempotency (
    token_id      INTEGER NOT NULL REFERENCES api_tokens (id),
    key           TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    status        INTEGER NOT NULL,
    body          BLOB    NOT NULL,
    created_at    TEXT    NOT NULL,
    PRIMARY KEY (token_id, key)
) WITHOUT ROWID;
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);
