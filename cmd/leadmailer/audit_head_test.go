package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

var auditHeadRE = regexp.MustCompile(`^(\d+):[0-9a-f]{64}\n$`)

// auditTrail makes a data directory with four audit entries, one per listing of leads.
// (Not users added: each password hash takes 64 MiB, which would swell this process and,
// through it, the memory other tests measure of the processes it starts.)
func auditTrail(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	for range 4 {
		lm(t, data, "leads", "list")
	}
	return data
}

// rawAudit opens the database as someone with write access to the file would, with the
// triggers that keep the audit tables append-only dropped.
func rawAudit(t *testing.T, data string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite3", filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	if _, err := raw.Exec(`DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete`); err != nil {
		t.Fatal(err)
	}
	return raw
}

// rehashAll recomputes every entry's hash with plain SHA-256, the most anyone without
// secret.key can do after changing an entry. Its SQL is both databases': $n placeholders.
func rehashAll(t *testing.T, raw *sql.DB) {
	t.Helper()
	rows, err := raw.Query(`SELECT id, at, actor, action, target, detail, ip FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var entries []leadmailer.AuditEntry
	for rows.Next() {
		var e leadmailer.AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.IP); err != nil {
			t.Fatal(err)
		}
		if e.Time, err = time.Parse("2006-01-02T15:04:05.000000Z", at); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	rows.Close()
	prev := ""
	for _, e := range entries {
		h := e.ComputeHash(prev)
		if _, err := raw.Exec(`UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE id = $3`, prev, h, e.ID); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
}

// tamperedTrail makes a data directory with four audit entries, as auditTrail does, its
// database SQLite or PostgreSQL, and opens that database as someone with write access to it
// would, every trigger that keeps the audit tables append-only dropped (SQLite) or disabled
// (PostgreSQL, as the tables' owner may).
func tamperedTrail(t *testing.T, backend string) (data string, raw *sql.DB) {
	t.Helper()
	data = t.TempDir()
	driver, dsn := "sqlite3", filepath.Join(data, dbFile)
	queries := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`,
		`DROP TRIGGER audit_keying_no_update`, `DROP TRIGGER audit_keying_no_delete`}
	if backend == "postgres" {
		dsn = storetest.NewPostgresDatabase(t)
		writeDatabaseConfig(t, filepath.Join(data, "leadmailer.toml"), dsn)
		driver = "pgx"
		queries = []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`, `ALTER TABLE audit_keying DISABLE TRIGGER USER`}
	}
	for range 4 {
		lm(t, data, "leads", "list")
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	for _, q := range queries {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return data, raw
}

// TestAuditVerifyDetectsRecomputedHashes: changing an entry and recomputing the plain SHA-256
// chain after it, which was enough before the chain was keyed, is found by audit verify.
//
// So is the downgrade: someone with write access to the database but not to secret.key also
// deletes the keying record (or drops its table and the migration that made it, so the next
// command makes it again, empty), then recomputes every hash with plain SHA-256, as an older
// version would have hashed them. Plain audit verify, with no head kept, fails naming the
// removed record, on the first run after the attack and on the next; the commands run
// meanwhile do not start keying anew, and refuse to record. On SQLite and on PostgreSQL.
func TestAuditVerifyDetectsRecomputedHashes(t *testing.T) {
	tests := []struct {
		name   string
		attack []string // SQL run after entry 2 was changed; then every hash is recomputed
		want   string
	}{
		{"entry changed", nil, "broken at entry 1: its contents were altered"},
		{"keying record removed", []string{`DELETE FROM audit_keying`},
			"broken at entry 1: the database's record of where keyed hashes begin was removed"},
		{"keying table and its migration removed", []string{`DROP TABLE audit_keying`, `DELETE FROM schema_migrations WHERE version = 14`},
			"broken at entry 1: the database's record of where keyed hashes begin was removed"},
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, tt := range tests {
			t.Run(backend+"/"+tt.name, func(t *testing.T) {
				data, raw := tamperedTrail(t, backend)
				if _, err := raw.Exec(`UPDATE audit_log SET actor = 'os:nobody', detail = 'nothing to see' WHERE id = 2`); err != nil {
					t.Fatal(err)
				}
				for _, q := range tt.attack {
					if _, err := raw.Exec(q); err != nil {
						t.Fatal(err)
					}
				}
				rehashAll(t, raw)

				// Each command a leadmailer process of its own, as an operator runs it.
				for run := 1; run <= 2; run++ {
					c := startLeadmailer(t, "audit", "verify", "--data", data)
					if code := c.wait(t, 30*time.Second); code != exitError || !strings.Contains(c.stderr.String(), tt.want) {
						t.Errorf("verify run %d after the attack: exit %d, stdout %q, stderr %q; want exit 1, %q",
							run, code, c.stdout.String(), c.stderr.String(), tt.want)
					}
				}
				if tt.attack == nil {
					return
				}
				c := startLeadmailer(t, "leads", "list", "--data", data)
				if code := c.wait(t, 30*time.Second); code == exitOK || !strings.Contains(c.stderr.String(), "keyed is missing") {
					t.Errorf("leads list after the attack: exit %d, stderr %q; want it refused, its audit entry unrecordable", code, c.stderr.String())
				}
				var records int
				if err := raw.QueryRow(`SELECT count(*) FROM audit_keying`).Scan(&records); err != nil {
					t.Fatal(err)
				}
				if records != 0 {
					t.Errorf("%d keying records after the commands ran, want none: keying started anew over the rewrite", records)
				}
			})
		}
	}
}

// TestAuditHeadDetectsTruncation: entries cut from the end leave a shorter chain that audit
// verify alone accepts; verify --head with the head printed before fails, naming the cut.
func TestAuditHeadDetectsTruncation(t *testing.T) {
	data := auditTrail(t)
	out := lm(t, data, "audit", "head").stdout
	m := auditHeadRE.FindStringSubmatch(out)
	if m == nil || m[1] != "4" {
		t.Fatalf("audit head printed %q, want 4:HASH", out)
	}
	head := strings.TrimSpace(out)
	mustContain(t, "verify --head", lm(t, data, "audit", "verify", "--head", head).stdout, "It holds entry 4 with the hash kept.")

	raw := rawAudit(t, data)
	// The verify just now added entry 5; cut it and entries 3 and 4. The next verify, which
	// records itself as entry 3, leaves the trail one short of the head kept.
	if _, err := raw.Exec(`DELETE FROM audit_log WHERE id >= 3`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	lm(t, data, "audit", "verify") // a shorter chain is still whole
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "audit", "verify", "--head", head)
	if r.code != exitError || !strings.Contains(r.stderr, "broken at entry 4: it is missing") {
		t.Errorf("verify --head after the tail was cut: exit %d, stderr %q; want exit 1 saying entry 4 is missing", r.code, r.stderr)
	}
	other := strings.Replace(head, head[len(head)-1:], "x", 1)
	if r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "audit", "verify", "--head", other); r.code != exitUsage {
		t.Errorf("verify --head %q: exit %d, want a usage error", other, r.code)
	}
}

// unkeyAsBeforeTheUpgrade leaves data as a version before keying did: entries chained with
// plain SHA-256, no keying table, and no keying record in the data directory.
func unkeyAsBeforeTheUpgrade(t *testing.T, data string) {
	t.Helper()
	raw := rawAudit(t, data)
	defer raw.Close()
	rehashAll(t, raw)
	if _, err := raw.Exec(`DROP TABLE audit_keying; DELETE FROM schema_migrations WHERE version = 14`); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(data, store.AuditKeyingFile)); err != nil {
		t.Fatal(err)
	}
}

// TestAuditVerifyAfterUpgrade: a data directory whose entries an older version chained with
// plain SHA-256, before the keying table existed, verifies; the entries after the upgrade are
// keyed, the output says where keying began, and the data directory remembers it.
func TestAuditVerifyAfterUpgrade(t *testing.T) {
	data := auditTrail(t)
	unkeyAsBeforeTheUpgrade(t, data)

	lm(t, data, "leads", "list") // entry 5
	r := lm(t, data, "audit", "verify")
	mustContain(t, "verify after the upgrade", r.stdout, "The audit trail is intact: 5 entries",
		"Entries before 5 were recorded before the chain was keyed")
	head := strings.TrimSpace(lm(t, data, "audit", "head").stdout)
	lm(t, data, "audit", "verify", "--head", head)
	kept, err := os.ReadFile(filepath.Join(data, store.AuditKeyingFile))
	if err != nil || !strings.HasPrefix(string(kept), "5 ") {
		t.Errorf("%s after the upgrade: %q, %v; want keying from entry 5 kept", store.AuditKeyingFile, kept, err)
	}
}

// TestRestoreBackupOlderThanKeying: a backup taken before the chain was keyed holds no keying
// record, while the upgraded data directory remembers one. Restoring it is the operator's
// choice, not a removal: the restore succeeds, keying starts after the backup's entries, and
// the trail verifies.
func TestRestoreBackupOlderThanKeying(t *testing.T) {
	data := auditTrail(t)
	unkeyAsBeforeTheUpgrade(t, data)
	b, err := os.ReadFile(filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(backup, b, 0o600); err != nil {
		t.Fatal(err)
	}

	lm(t, data, "leads", "list") // the upgrade: keyed from entry 5
	lm(t, data, "leads", "list")
	lm(t, data, "restore", backup)
	r := lm(t, data, "audit", "verify")
	mustContain(t, "verify after restoring a backup older than keying", r.stdout, "The audit trail is intact: 5 entries",
		"Entries before 5 were recorded before the chain was keyed")
	kept, err := os.ReadFile(filepath.Join(data, store.AuditKeyingFile))
	if err != nil || !strings.HasPrefix(string(kept), "5 ") {
		t.Errorf("%s after the restore: %q, %v; want keying from entry 5, after the backup's four", store.AuditKeyingFile, kept, err)
	}
}
