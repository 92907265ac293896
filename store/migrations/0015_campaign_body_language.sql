-- The language a campaign's subject and body are written in ("en", "fi", "en-GB"), for the
-- messages' Content-Language and <html lang>. Empty: each lead's notice language, which is
-- what every campaign created before this used.
ALTER TABLE campaigns ADD COLUMN body_language TEXT NOT NULL DEFAULT '';
