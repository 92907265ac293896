-- SQLite's twin of migrations_pg/0024_text_byte_order.sql, which gives every PostgreSQL text
-- column byte order (collation "C"). SQLite's text columns compare by their bytes (BINARY)
-- already, so nothing changes here; the file keeps the two schemas' version numbers alike.
SELECT 1;
