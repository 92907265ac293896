package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// queueDeliveries writes n pending deliveries to crmHook, due one second apart from due on,
// and returns their ids, the first due first.
func queueDeliveries(t *testing.T, db *store.DB, raw *sql.DB, n int, due time.Time) []int64 {
	t.Helper()
	query := `INSERT INTO webhook_deliveries (event_id, event_type, payload, endpoint, next_attempt_at, created_at, queued_at)
		VALUES (?, ?, '{}', ?, ?, ?, ?) RETURNING id`
	if db.Postgres() {
		query = `INSERT INTO webhook_deliveries (event_id, event_type, payload, endpoint, next_attempt_at, created_at, queued_at)
		VALUES ($1, $2, '{}', $3, $4, $5, $6) RETURNING id`
	}
	var ids []int64
	for i := range n {
		at := due.Add(time.Duration(i) * time.Second).UTC().Format("2006-01-02T15:04:05.000000Z")
		var id int64
		if err := raw.QueryRow(query, fmt.Sprintf("event-%d", i), leadmailer.EventImportFinished, crmHook, at, at, at).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// TestWebhookClaimSkipsLockedDeliveries: on PostgreSQL a claim does not wait for due
// deliveries another transaction holds (a sender on another process claiming or updating
// them): it returns the other due ones at once and never the held ones, which a later claim
// takes once they are free.
func TestWebhookClaimSkipsLockedDeliveries(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db := storetest.OpenPostgres(t, func() time.Time { return now })
	raw := storetest.Raw(t, db)
	ids := queueDeliveries(t, db, raw, 6, now.Add(-time.Hour))

	// The three due first are held by an open transaction.
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	held := map[int64]bool{ids[0]: true, ids[1]: true, ids[2]: true}
	if _, err := tx.ExecContext(ctx, `SELECT id FROM webhook_deliveries WHERE id IN ($1, $2, $3) FOR UPDATE`, ids[0], ids[1], ids[2]); err != nil {
		t.Fatal(err)
	}

	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	claimed, err := db.ClaimWebhookDeliveries(short, []string{crmHook}, 10, "host-a:1")
	if err != nil {
		t.Fatalf("claim beside held deliveries: %v; want the free ones at once", err)
	}
	var got []int64
	for _, d := range claimed {
		if held[d.ID] {
			t.Errorf("claimed delivery %d, held by another transaction", d.ID)
		}
		got = append(got, d.ID)
	}
	if len(claimed) != 3 {
		t.Errorf("claimed %v; want the 3 free ones %v", got, ids[3:])
	}

	// Once the holder ends, another process takes the rest, and nothing twice.
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	other := storetest.Reopen(t, db, func() time.Time { return now })
	rest, err := other.ClaimWebhookDeliveries(ctx, []string{crmHook}, 10, "host-b:2")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range rest {
		if !held[d.ID] {
			t.Errorf("delivery %d claimed again by the other process", d.ID)
		}
	}
	if len(rest) != len(held) {
		t.Errorf("the other process claimed %d deliveries; want the %d freed", len(rest), len(held))
	}
}

// TestWebhookClaimsNeverHandADeliveryOutTwice: senders on two processes claiming the same
// queue at once each get different deliveries, and between them all of them.
func TestWebhookClaimsNeverHandADeliveryOutTwice(t *testing.T) {
	const queued, claimers = 200, 4
	ctx := context.Background()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dbs := []*store.DB{b.Open(t, nil)}
			dbs = append(dbs, storetest.Reopen(t, dbs[0], nil))
			queueDeliveries(t, dbs[0], storetest.Raw(t, dbs[0]), queued, time.Now().Add(-time.Hour))
			storetest.ClaimEachOnce(t, 2*claimers, queued, "delivery", func(i int) ([]int64, error) {
				ds, err := dbs[i%2].ClaimWebhookDeliveries(ctx, []string{crmHook}, 7, fmt.Sprintf("host-%d:%d", i%2, i))
				ids := make([]int64, len(ds))
				for k, d := range ds {
					ids[k] = d.ID
				}
				return ids, err
			})
		})
	}
}
