-- A claimed webhook delivery is leased to its sender until lease_until. Several serve
-- processes may share a database: one that starts puts back to pending only the claims whose
-- lease has run out (their sender stopped), not those another live process is sending.
-- leased_by names the sender's process (host:pid), so that a serve restarted on the same
-- machine can tell a killed predecessor's claims at once. Claims made before these columns ('' sorts before every time) count as run out.
ALTER TABLE webhook_deliveries ADD COLUMN lease_until TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_deliveries ADD COLUMN leased_by TEXT NOT NULL DEFAULT '';
