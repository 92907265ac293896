-- Every text column compares and sorts by its bytes (collation "C"), as SQLite's BINARY does,
-- whatever the database's default collation. A server set up with the operating system's
-- locale (en_US.UTF-8, fi_FI.UTF-8, an ICU locale) would otherwise sort user and source names
-- differently from SQLite, and break the range comparisons the store relies on: the audit
-- filter's "lead." prefix is action >= 'lead.' AND action < 'lead/', which only byte order
-- makes exact. Equality is the same under every deterministic collation, so no unique
-- constraint changes meaning; the indexes on these columns are rebuilt.
--
-- A column added by a later migration must say COLLATE "C" itself (a test checks).
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT col.table_name, col.column_name
        FROM information_schema.columns col
        JOIN information_schema.tables tab
          ON tab.table_schema = col.table_schema AND tab.table_name = col.table_name
        WHERE col.table_schema = current_schema() AND tab.table_type = 'BASE TABLE'
          AND col.data_type = 'text' AND col.collation_name IS DISTINCT FROM 'C'
        ORDER BY col.table_name, col.ordinal_position
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE text COLLATE "C"', c.table_name, c.column_name);
    END LOOP;
END
$$;
