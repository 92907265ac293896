-- Nothing to change on SQLite: migrations_pg/0029 narrows PostgreSQL's index of leads by
-- state to the inactive ones, which made its imports slower. SQLite keeps its index: its
-- lead list binds the state as a parameter, which SQLite cannot match to a partial index.
-- The file keeps the version numbers of the two dialects the same.
SELECT 1;
