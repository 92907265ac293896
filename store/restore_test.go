package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestPrepareRestoredQueuesPauseEvents: the campaigns a restore pauses are reported to the
// webhook endpoints as every other pause is, with the restore's reason, queued in the
// restored database, so that the next serve on it delivers them; a draft is left out.
func TestPrepareRestoredQueuesPauseEvents(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			db := b.Open(t, func() time.Time { return now })
			running := newCampaign(t, db, &leadmailer.Campaign{})
			scheduled := newCampaign(t, db, &leadmailer.Campaign{})
			newCampaign(t, db, &leadmailer.Campaign{}) // a draft
			for c, state := range map[*leadmailer.Campaign]leadmailer.CampaignState{running: leadmailer.CampaignRunning, scheduled: leadmailer.CampaignScheduled} {
				if _, err := db.SetCampaignState(ctx, c.ID, state, ""); err != nil {
					t.Fatal(err)
				}
			}
			subscribe(t, db)
			const reason = "paused by the restore of backup.db"

			rc, err := db.PrepareRestored(ctx, reason)
			if err != nil {
				t.Fatal(err)
			}
			if want := []int64{running.ID, scheduled.ID}; !slices.Equal(rc.Paused, want) {
				t.Errorf("paused %v, want %v", rc.Paused, want)
			}
			_, ds := deliveries(t, db)
			var got []int64
			for _, d := range ds {
				if d.EventType != leadmailer.EventCampaignPaused || d.Endpoint != opsHook || d.Status != store.DeliveryPending || !d.NextAttemptAt.Equal(now) {
					t.Errorf("queued %s to %s, %s, due %s; want campaign.paused to the ops endpoint, pending, due now", d.EventType, d.Endpoint, d.Status, d.NextAttemptAt)
				}
				var data struct {
					Campaign int64                    `json:"campaign_id"`
					Name     string                   `json:"name"`
					State    leadmailer.CampaignState `json:"state"`
					Reason   string                   `json:"reason"`
				}
				if err := json.Unmarshal([]byte(d.Payload), &data); err != nil {
					t.Fatalf("payload %s: %v", d.Payload, err)
				}
				if data.Name != "spring" || data.State != leadmailer.CampaignPaused || data.Reason != reason {
					t.Errorf("payload %s; want campaign spring, paused, with the restore's reason", d.Payload)
				}
				got = append(got, data.Campaign)
			}
			slices.Sort(got)
			if want := []int64{running.ID, scheduled.ID}; !slices.Equal(got, want) {
				t.Errorf("campaign.paused queued for campaigns %v, want %v", got, want)
			}

			// The queue is the database's: another process opening it (the next serve) finds it.
			other := storetest.Reopen(t, db, func() time.Time { return now })
			claimed, err := other.ClaimWebhookDeliveries(ctx, []string{opsHook}, 10, "host-b:2")
			if err != nil || len(claimed) != 2 {
				t.Errorf("the next process claimed %d deliveries, %v; want the 2 pause events", len(claimed), err)
			}
		})
	}
}

// TestFoldWAL: a database whose process died with transactions still in its write-ahead log
// (here, the files copied while it is open) is whole in its one file after FoldWAL, with no
// -wal file left; a file that is not a database is refused and left as it is.
func TestFoldWAL(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	importRows(t, db, "crm", false, []leadmailer.ImportRow{row(2, "email", "anna@example.fi"), row(3, "email", "ben@example.fi")})
	dir := t.TempDir()
	copied := filepath.Join(dir, "copy.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(db.Path() + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if suffix == "-wal" && len(b) == 0 {
			t.Fatal("the open database has an empty log: the test would not show a fold")
		}
		if err := os.WriteFile(copied+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.FoldWAL(ctx, copied); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copied + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s-wal after the fold: %v, want it gone", copied, err)
	}
	// The file alone, opened read-only with no log beside it, holds both leads.
	raw, err := sql.Open("sqlite3", "file:"+copied+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM leads`).Scan(&n); err != nil || n != 2 {
		t.Errorf("leads in the folded file: %d, %v; want 2", n, err)
	}

	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("not a database at all, but longer than a header would be: ............................................................................................"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := store.FoldWAL(ctx, junk); err == nil {
		t.Error("FoldWAL of a file that is not a database succeeded")
	}
}
