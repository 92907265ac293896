-- PostgreSQL's form of migrations/0014_audit_keying.sql.
CREATE TABLE audit_keying (
    id         BIGINT  PRIMARY KEY CHECK (id = 1),
    keyed_from BIGINT  NOT NULL,
    mac        TEXT    NOT NULL
);
CREATE TRIGGER audit_keying_no_change BEFORE UPDATE OR DELETE ON audit_keying
    FOR EACH ROW EXECUTE FUNCTION leadmailer_append_only('the audit keying record is written once');
CREATE TRIGGER audit_keying_no_truncate BEFORE TRUNCATE ON audit_keying
    FOR EACH STATEMENT EXECUTE FUNCTION leadmailer_append_only('the audit keying record is written once');
