package store

import (
	"context"
	"path/filepath"
	"testing"
)

// TestOpenCacheSize: every connection of a DB gets the page cache its options ask for, 16 MiB
// when they ask for none.
func TestOpenCacheSize(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		opts Options
		want int // PRAGMA cache_size: negative is KiB
	}{
		{Options{}, -16384},
		{Options{CacheKiB: 8 << 10}, -8192},
		{Options{CacheKiB: 16 << 10, Statements: 32}, -16384},
	} {
		db, err := Open(ctx, filepath.Join(t.TempDir(), "lm.db"), tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		// Two connections at once: the size must not be the first connection's only.
		tx, err := db.sql.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var inTx, other int
		if err := tx.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&inTx); err != nil {
			t.Fatal(err)
		}
		if err := db.sql.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&other); err != nil {
			t.Fatal(err)
		}
		tx.Rollback()
		db.Close()
		if inTx != tt.want || other != tt.want {
			t.Errorf("%+v: cache_size %d and %d on two connections, want %d", tt.opts, inTx, other, tt.want)
		}
	}
}
