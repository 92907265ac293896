package store_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// recordEntries appends n audit entries.
func recordEntries(t *testing.T, db *store.DB, n int) {
	t.Helper()
	for i := range n {
		e := &leadmailer.AuditEntry{Actor: "user:anna", Action: leadmailer.AuditLeadView, Target: fmt.Sprintf("lead %d", i+1)}
		if err := db.RecordAudit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// tamper opens the database as someone with write access to it would, without the store,
// and turns off the triggers that keep the audit tables append-only: on SQLite by dropping
// them, on PostgreSQL as the tables' owner may.
func tamper(t *testing.T, db *store.DB) *sql.DB {
	t.Helper()
	raw := storetest.Raw(t, db)
	queries := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`,
		`DROP TRIGGER IF EXISTS audit_keying_no_update`, `DROP TRIGGER IF EXISTS audit_keying_no_delete`}
	if db.Postgres() {
		queries = []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`, `ALTER TABLE audit_keying DISABLE TRIGGER USER`}
	}
	for _, q := range queries {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return raw
}

// rehashUnkeyed rewrites the chain from entry from on with plain SHA-256, as an attacker
// who cannot read the key would: each entry naming the previous one's new hash. $n, which
// both databases read as the nth argument.
func rehashUnkeyed(t *testing.T, raw *sql.DB, from int64) {
	t.Helper()
	var prev string
	if from > 1 {
		if err := raw.QueryRow(`SELECT hash FROM audit_log WHERE id = $1`, from-1).Scan(&prev); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := raw.Query(`SELECT id, at, actor, action, target, detail, ip FROM audit_log WHERE id >= $1 ORDER BY id`, from)
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
	for _, e := range entries {
		h := e.ComputeHash(prev)
		if _, err := raw.Exec(`UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE id = $3`, prev, h, e.ID); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
}

// TestKeyedAuditChainResistsRewriting: an attacker who can write the database but not read
// the key changes an entry and recomputes the plain SHA-256 hashes of every entry after it;
// verification finds the rewritten entry, even when the attacker also moves the record of
// where keying begins, or removes it and rehashes every entry (the data directory remembers
// where keying began). Cutting entries off the end, or removing the data directory's file
// as well as the record, leaves a chain that verifies alone: the head kept elsewhere
// catches it.
func TestKeyedAuditChainResistsRewriting(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			tests := []struct {
				name      string
				attack    string // SQL run after entry 3's detail is changed and the chain rehashed
				rehash    bool
				wantBreak string // from VerifyAudit; "" when only the kept head shows it
				wantHead  string // from VerifyAuditHead with the head taken before the attack
				kept      string // the data directory's keying file afterwards: "" as written, "-" removed
			}{
				{"rewritten and rehashed", ``, true, "audit entry 3: its contents were altered", "audit entry 3: its contents were altered", ""},
				{"keying moved past the rewrite", `UPDATE audit_keying SET keyed_from = 100`, true,
					"audit entry 100: the record of where keyed hashes begin was altered", "audit entry 100: the record", ""},
				{"keying removed and every entry rehashed", `DELETE FROM audit_keying`, true,
					"audit entry 1: the database's record of where keyed hashes begin was removed, though the data directory's audit-keying says they begin here",
					"audit entry 1: the database's record", ""},
				{"keying removed, data directory's record forged", `DELETE FROM audit_keying`, true,
					"audit entry 100: the data directory's record of where keyed hashes begin (audit-keying) was altered",
					"audit entry 100: the data directory's record", "100 " + strings.Repeat("0", 64)},
				{"keying removed from the database and the data directory", `DELETE FROM audit_keying`, true, "", "audit entry 5: its hash is", "-"},
				{"tail cut", `DELETE FROM audit_log WHERE id > 3`, false, "", "audit entry 5: it is missing: the trail ends at entry 3", ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					db := b.Open(t, nil)
					recordEntries(t, db, 5)
					head, err := db.FindAuditHead(t.Context())
					if err != nil {
						t.Fatal(err)
					}
					if head.ID != 5 {
						t.Fatalf("head %v, want entry 5", head)
					}
					if _, brk, err := db.VerifyAuditHead(t.Context(), head); brk != nil || err != nil {
						t.Fatalf("before the attack: %v %v", brk, err)
					}

					raw := tamper(t, db)
					if tt.rehash {
						if _, err := raw.Exec(`UPDATE audit_log SET detail = 'nothing to see' WHERE id = 3`); err != nil {
							t.Fatal(err)
						}
					}
					if tt.attack != "" {
						if _, err := raw.Exec(tt.attack); err != nil {
							t.Fatal(err)
						}
					}
					if tt.rehash {
						from := int64(3)
						if strings.Contains(tt.attack, "DELETE FROM audit_keying") {
							from = 1 // nothing keyed is left
						}
						rehashUnkeyed(t, raw, from)
					}
					keptFile := filepath.Join(db.DataDir(), store.AuditKeyingFile)
					switch tt.kept {
					case "":
					case "-":
						if err := os.Remove(keptFile); err != nil {
							t.Fatal(err)
						}
					default:
						if err := os.WriteFile(keptFile, []byte(tt.kept), 0o600); err != nil {
							t.Fatal(err)
						}
					}

					_, brk, err := db.VerifyAudit(t.Context())
					if err != nil {
						t.Fatal(err)
					}
					switch {
					case tt.wantBreak == "" && brk != nil:
						t.Errorf("VerifyAudit: %v, want the chain to verify alone", brk)
					case tt.wantBreak != "" && (brk == nil || !strings.HasPrefix(brk.Error(), tt.wantBreak)):
						t.Errorf("VerifyAudit: %v, want %q", brk, tt.wantBreak)
					}
					_, brk, err = db.VerifyAuditHead(t.Context(), head)
					if err != nil {
						t.Fatal(err)
					}
					if brk == nil || !strings.HasPrefix(brk.Error(), tt.wantHead) {
						t.Errorf("VerifyAuditHead(%v): %v, want %q", head, brk, tt.wantHead)
					}
				})
			}
		})
	}
}

// TestUnkeyedChainKeepsVerifyingAfterUpgrade: a database whose entries an older version
// hashed with plain SHA-256, without the keying table, opens with the key; its old entries
// verify unkeyed, and the entries recorded from then on are keyed.
func TestUnkeyedChainKeepsVerifyingAfterUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leadmailer.db")
	old, err := store.Open(t.Context(), path, store.Options{SuppressionKey: storetest.Key})
	if err != nil {
		t.Fatal(err)
	}
	recordEntries(t, old, 3)
	old.Close()
	// Back to the schema before keying existed.
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DROP TABLE audit_keying; DELETE FROM schema_migrations WHERE version = 14`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := store.Open(t.Context(), path, store.Options{SuppressionKey: storetest.Key, AuditKey: storetest.AuditKey})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recordEntries(t, db, 2)
	sum, brk, err := db.VerifyAudit(t.Context())
	if err != nil || brk != nil {
		t.Fatalf("VerifyAudit after the upgrade: %v %v", brk, err)
	}
	if sum.Entries != 5 || sum.KeyedFrom != 4 {
		t.Errorf("summary %+v, want 5 entries keyed from entry 4", sum)
	}
	var e4 leadmailer.AuditEntry
	err = db.FindAuditEntries(t.Context(), store.AuditFilter{BeforeID: 5, Limit: 1}, func(e *leadmailer.AuditEntry) error {
		e4 = *e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if e4.ID != 4 || e4.Hash != e4.ComputeKeyedHash(storetest.AuditKey, e4.PrevHash) {
		t.Errorf("entry %d hash %s is not keyed", e4.ID, e4.Hash)
	}

	// The old entries are still what an attacker can recompute: rewriting one and rehashing
	// up to the keyed part breaks the chain where keying begins.
	raw = tamper(t, db)
	if _, err := raw.Exec(`UPDATE audit_log SET target = 'lead 99' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	rehashUnkeyed(t, raw, 1)
	if _, brk, _ := db.VerifyAudit(t.Context()); brk == nil || brk.ID != 4 {
		t.Errorf("VerifyAudit after rewriting entry 1 and rehashing: %v, want a break at entry 4, the first keyed", brk)
	}
}

// TestAuditKeyRequiredOnceKeyed: a keyed chain is never extended or checked without the key:
// an entry hashed unkeyed would break it.
func TestAuditKeyRequiredOnceKeyed(t *testing.T) {
	db := storetest.Open(t, nil)
	recordEntries(t, db, 1)
	plain, err := store.Open(t.Context(), db.Path(), store.Options{SuppressionKey: storetest.Key})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.RecordAudit(t.Context(), &leadmailer.AuditEntry{Actor: "os:x", Action: "login"}); err == nil {
		t.Error("recording without the key succeeded")
	}
	if _, _, err := plain.VerifyAudit(t.Context()); err == nil {
		t.Error("verifying without the key succeeded")
	}
	wrong, err := store.Open(t.Context(), db.Path(), store.Options{SuppressionKey: storetest.Key, AuditKey: []byte("another installation's key")})
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	if _, brk, _ := wrong.VerifyAudit(t.Context()); brk == nil || !strings.Contains(brk.Reason, "secret key is not this installation's") {
		t.Errorf("verify with another key: %v, want the keying record refused", brk)
	}
}

// TestAuditKeyingNotRestartedAfterRemoval: after the keying record was removed and every
// entry rehashed with plain SHA-256, opening the database again, as the next command does,
// does not start keying anew, which would pass the rewritten entries off as ones recorded
// before keying: the record stays missing, verification names the removal and no entry can
// be recorded. Even the migration that creates the table, run again, keys nothing.
func TestAuditKeyingNotRestartedAfterRemoval(t *testing.T) {
	for _, b := range storetest.Backends() {
		for _, dropTable := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/table dropped %v", b.Name, dropTable), func(t *testing.T) {
				db := b.Open(t, nil)
				recordEntries(t, db, 3)
				raw := tamper(t, db)
				attack := []string{`UPDATE audit_log SET actor = 'os:nobody' WHERE id = 2`, `DELETE FROM audit_keying`}
				if dropTable {
					attack = append(attack, `DROP TABLE audit_keying`, `DELETE FROM schema_migrations WHERE version = 14`)
				}
				for _, q := range attack {
					if _, err := raw.Exec(q); err != nil {
						t.Fatal(err)
					}
				}
				rehashUnkeyed(t, raw, 1)

				again := storetest.Reopen(t, db, nil)
				var records int
				if err := raw.QueryRow(`SELECT count(*) FROM audit_keying`).Scan(&records); err != nil {
					t.Fatal(err)
				}
				if records != 0 {
					t.Errorf("%d keying records after opening again, want none: keying started anew", records)
				}
				_, brk, err := again.VerifyAudit(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if brk == nil || brk.ID != 1 || !strings.Contains(brk.Reason, "record of where keyed hashes begin was removed") {
					t.Errorf("VerifyAudit: %v, want a break at entry 1 naming the removed keying record", brk)
				}
				err = again.RecordAudit(t.Context(), &leadmailer.AuditEntry{Actor: "os:x", Action: leadmailer.AuditLeadList})
				if err == nil || !strings.Contains(err.Error(), "keyed is missing") {
					t.Errorf("RecordAudit: %v, want it refused", err)
				}
			})
		}
	}
}
