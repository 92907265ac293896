package store_test

import (
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestIdempotencyKeyLockedAcrossProcesses: on PostgreSQL, while one process holds a token's
// idempotency key, another process on the database waits for it; another key or another
// token's same key does not wait.
func TestIdempotencyKeyLockedAcrossProcesses(t *testing.T) {
	a := storetest.OpenPostgres(t, nil) // skips without PostgreSQL
	b := storetest.Reopen(t, a, nil)
	ctx := t.Context()
	unlock, err := a.LockIdempotencyKey(ctx, 1, "retry-me")
	if err != nil {
		t.Fatal(err)
	}
	for _, free := range []struct {
		token int64
		key   string
	}{{1, "another"}, {2, "retry-me"}} {
		u, err := b.LockIdempotencyKey(ctx, free.token, free.key)
		if err != nil {
			t.Fatal(err)
		}
		u()
	}
	got := make(chan time.Time, 1)
	go func() {
		u, err := b.LockIdempotencyKey(ctx, 1, "retry-me")
		if err != nil {
			t.Error(err)
		}
		got <- time.Now()
		u()
	}()
	select {
	case <-got:
		t.Fatal("the second process took the key while the first held it")
	case <-time.After(300 * time.Millisecond):
	}
	released := time.Now()
	unlock()
	select {
	case at := <-got:
		if at.Before(released) {
			t.Errorf("the second process took the key before the first released it")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second process did not get the key after the first released it")
	}
}
