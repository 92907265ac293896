// Package storetest gives tests a real, migrated database: SQLite in a temporary directory
// (Open), or PostgreSQL (OpenPostgres), in a private cluster the test binary starts on a Unix
// socket in a temporary directory, or on the server LEADMAILER_TEST_DATABASE_URL names.
// Backends lists both, for table-driven tests. A package that opens PostgreSQL databases
// calls Main from its TestMain, which stops the cluster when the tests end.
//
// PostgreSQL refuses to run as root. Run as root (CI does), the cluster's directory is given
// to the user nobody and initdb, pg_ctl and the server run as nobody (SysProcAttr.Credential),
// so nothing needs setting up by hand.
package storetest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/store"
)

// Key is the suppression key test databases use.
var Key = []byte("storetest-suppression-key-32byte")

// AuditKey keys test databases' audit chains.
var AuditKey = []byte("storetest-audit-chain-key-32byte")

// Open returns a fresh database in t.TempDir(), closed when the test ends. now may be nil for
// the real clock.
func Open(t testing.TB, now func() time.Time) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "leadmailer.db"),
		store.Options{Now: now, SuppressionKey: Key, AuditKey: AuditKey})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
