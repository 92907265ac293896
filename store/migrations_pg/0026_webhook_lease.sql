-- PostgreSQL's form of migrations/0026_webhook_lease.sql.
ALTER TABLE webhook_deliveries ADD COLUMN lease_until TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE webhook_deliveries ADD COLUMN leased_by TEXT COLLATE "C" NOT NULL DEFAULT '';
