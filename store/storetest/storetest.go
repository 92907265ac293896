// Package storetest gives tests a real, migrated SQLite database in a temporary directory.
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
