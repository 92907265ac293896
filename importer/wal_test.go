package importer_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// maxWAL is the most the write-ahead log may grow to: the 16 MiB journal_size_limit and
// one batch's commit on top.
const maxWAL = 24 << 20

// TestWALStaysSmall imports enough rows to write a few hundred megabytes of pages and checks
// the WAL file's size after every batch: it once reached 64 MiB beside a 9.5 MB database,
// which filled a small disk.
func TestWALStaysSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 300,000 rows")
	}
	db := storetest.Open(t, nil)
	wal := db.Path() + "-wal"
	var largest int64
	check := func() {
		if st, err := os.Stat(wal); err == nil && st.Size() > largest {
			largest = st.Size()
		}
	}
	_, err := importer.Import(context.Background(), db, bytes.NewReader(benchCSV(300_000)), importer.Options{
		Source: "test", Progress: func(importer.Progress) { check() },
	})
	if err != nil {
		t.Fatalf("Import(): %v", err)
	}
	check()
	if largest > maxWAL {
		t.Errorf("the WAL grew to %d MiB, want at most %d MiB", largest>>20, maxWAL>>20)
	}
}
