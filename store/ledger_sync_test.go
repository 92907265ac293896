package store

import (
	"context"
	"path/filepath"
	"testing"
)

// TestLedgerCommitsReachTheDisk: the ledger's connection commits with synchronous = FULL
// (2), so that a power cut cannot take back a "sending" mark of a message the relay has;
// the connection goes back to the pool with the database's NORMAL (1) for other work.
func TestLedgerCommitsReachTheDisk(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "lm.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.sql.SetMaxOpenConns(1) // the ledger's connection is the one the pool hands out next
	l, err := db.OpenLedger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mode int
	if err := l.conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode); err != nil || mode != 2 {
		t.Errorf("ledger connection: synchronous = %d, %v; want 2 (FULL)", mode, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.sql.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode); err != nil || mode != 1 {
		t.Errorf("pooled connection after the ledger: synchronous = %d, %v; want 1 (NORMAL)", mode, err)
	}
}
