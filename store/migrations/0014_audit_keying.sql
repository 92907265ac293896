-- Where the audit chain's keyed hashes begin. Entries before keyed_from were recorded by a
-- version that hashed them with plain SHA-256 and keep verifying that way; from keyed_from on,
-- every entry's hash is an HMAC under a key derived from secret.key. mac authenticates
-- keyed_from under that key, so that moving the start past the entries an attacker rewrote
-- is detected. One row, written once when a database is first opened with the key.
CREATE TABLE audit_keying (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    keyed_from INTEGER NOT NULL,
    mac        TEXT    NOT NULL
);
CREATE TRIGGER audit_keying_no_update BEFORE UPDATE ON audit_keying
BEGIN
    SELECT RAISE(ABORT, 'the audit keying record is written once');
END;
CREATE TRIGGER audit_keying_no_delete BEFORE DELETE ON audit_keying
BEGIN
    SELECT RAISE(ABORT, 'the audit keying record is written once');
END;
