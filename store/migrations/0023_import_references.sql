-- Nothing to change on SQLite: migrations_pg/0023 replaces three foreign keys of PostgreSQL's
-- import tables with checks once per statement. SQLite keeps its foreign keys; the import's
-- connection skips checking them (see ImportWriter.begin). The file keeps the version numbers
-- of the two dialects the same.
SELECT 1;
