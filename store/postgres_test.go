package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// Two processes starting at once on a new database: one applies the migrations while the
// other waits for the migration lock, then finds them applied. Without the lock the second
// fails creating tables that already exist.
func TestPostgresConcurrentOpensMigrateOnce(t *testing.T) {
	url := storetest.NewPostgresDatabase(t)
	ctx := context.Background()
	const opens = 4
	var wg sync.WaitGroup
	dbs := make([]*store.DB, opens)
	errs := make([]error, opens)
	for i := range opens {
		wg.Go(func() {
			dbs[i], errs[i] = store.OpenURL(ctx, url, store.Options{SuppressionKey: storetest.Key, AuditKey: storetest.AuditKey})
		})
	}
	wg.Wait()
	for i := range opens {
		if errs[i] != nil {
			t.Fatalf("open #%d: %v", i+1, errs[i])
		}
		defer dbs[i].Close()
	}
	want, err := dbs[0].SchemaVersion(ctx)
	if err != nil || want < 14 {
		t.Fatalf("schema version = %d, %v; want at least 14", want, err)
	}
	for i, db := range dbs {
		if err := db.Ready(ctx); err != nil {
			t.Errorf("open #%d: %v", i+1, err)
		}
	}
}

// A database that is down is named in the error, host and all, without the password.
func TestPostgresDownNamesHost(t *testing.T) {
	_, err := store.OpenURL(context.Background(), "postgres://lm:s3cret@127.0.0.1:1/leads?connect_timeout=5", store.Options{})
	if err == nil {
		t.Fatal("opened a database on port 1")
	}
	msg := err.Error()
	if !strings.Contains(msg, "127.0.0.1:1") || !strings.Contains(msg, `"leads"`) {
		t.Errorf("error %q does not name the database and its host", msg)
	}
	if strings.Contains(msg, "s3cret") {
		t.Errorf("error %q shows the password", msg)
	}
}
