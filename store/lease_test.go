package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestLeasesShareACampaignBetweenProcesses: two processes on one database lease different
// recipients of one campaign; neither can mark the other's row sending; starting up does not
// take a live process's rows in flight; and when one process dies, its rows (those it had
// marked sending, with their Message-ID, and those it had not reached) go to the other once
// the lease runs out, while the survivor's own renewed leases stay its own.
func TestLeasesShareACampaignBetweenProcesses(t *testing.T) {
	const leads, lease = 30, time.Minute
	ctx := context.Background()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			a := b.Open(t, nil)
			other := storetest.Reopen(t, a, nil)
			var rows []leadmailer.ImportRow
			for i := range leads {
				rows = append(rows, row(int64(i+2), "email", fmt.Sprintf("lead%d@example.fi", i)))
			}
			importRows(t, a, "crm", false, rows)
			c := newCampaign(t, a, &leadmailer.Campaign{})
			if _, err := a.ResolveAudience(ctx, c, store.AudienceRules{}); err != nil {
				t.Fatal(err)
			}
			now := time.Now()

			psA, _, err := a.LeasePending(ctx, c.ID, "a", now, lease, 10)
			if err != nil {
				t.Fatal(err)
			}
			psB, _, err := other.LeasePending(ctx, c.ID, "b", now, lease, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(psA) != 10 || len(psB) != 10 {
				t.Fatalf("leased %d and %d rows, want 10 each", len(psA), len(psB))
			}
			mine := map[int64]string{}
			for _, p := range psA {
				mine[p.RecipientID] = "a"
			}
			for _, p := range psB {
				if mine[p.RecipientID] != "" {
					t.Errorf("row %d leased to both processes", p.RecipientID)
				}
				if p.Lead == nil || p.Lead.Email == "" {
					t.Errorf("row %d leased without its lead", p.RecipientID)
				}
			}

			// a marks two rows sending; b may not mark one of a's rows.
			la, lb := openLedger(t, a), openLedger(t, other)
			marks := []store.LedgerUpdate{
				{RecipientID: psA[0].RecipientID, Status: leadmailer.RecipientSending, MessageID: "m0@x", Owner: "a"},
				{RecipientID: psA[1].RecipientID, Status: leadmailer.RecipientSending, MessageID: "m1@x", Owner: "a"},
			}
			if err := la.Write(ctx, marks); err != nil || marks[0].LeaseLost || marks[1].LeaseLost {
				t.Fatalf("a marks its own rows: %v, lost %v %v", err, marks[0].LeaseLost, marks[1].LeaseLost)
			}
			steal := []store.LedgerUpdate{{RecipientID: psA[2].RecipientID, Status: leadmailer.RecipientSending, MessageID: "m2@x", Owner: "b"}}
			if err := lb.Write(ctx, steal); err != nil || !steal[0].LeaseLost {
				t.Errorf("b marks a row a holds: %v, lost %v; want the mark refused", err, steal[0].LeaseLost)
			}

			// A third process starting now leaves a's rows in flight alone.
			if n, err := other.RequeueInFlight(ctx, c.ID, now.Add(time.Second)); err != nil || n != 0 {
				t.Errorf("RequeueInFlight while a lives = %d, %v; want 0", n, err)
			}
			if n, next, err := other.Outstanding(ctx, c.ID); err != nil || n != leads || !next.IsZero() {
				t.Errorf("Outstanding = %d, %v, %v; want %d, some leasable now", n, next, err, leads)
			}

			// a dies. b goes on renewing, and after a's lease has run out takes the rest:
			// a's two rows in flight (queued again) and its eight unsent ones, and the ten no
			// one held, but not b's own.
			if _, err := other.RenewLeases(ctx, c.ID, "b", now.Add(30*time.Second+lease)); err != nil {
				t.Fatal(err)
			}
			later := now.Add(lease + time.Second)
			rest, requeued, err := other.LeasePending(ctx, c.ID, "b", later, lease, leads)
			if err != nil {
				t.Fatal(err)
			}
			if requeued != 2 {
				t.Errorf("requeued %d rows a had in flight, want 2", requeued)
			}
			if len(rest) != leads-10 {
				t.Errorf("b leased %d rows after a died, want %d", len(rest), leads-10)
			}
			got := map[int64]bool{}
			for _, p := range rest {
				got[p.RecipientID] = true
			}
			for _, p := range psB {
				if got[p.RecipientID] {
					t.Errorf("row %d of b's own renewed lease was leased again", p.RecipientID)
				}
			}
			for _, p := range psA {
				if !got[p.RecipientID] {
					t.Errorf("row %d of the dead process did not return to the queue", p.RecipientID)
				}
			}
			var ids []string
			if err := a.FindRecipients(ctx, c.ID, "", func(r *leadmailer.Recipient) error {
				if r.ID == psA[0].RecipientID || r.ID == psA[1].RecipientID {
					ids = append(ids, r.MessageID)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(ids) != 2 || ids[0] != "m0@x" || ids[1] != "m1@x" {
				t.Errorf("Message-IDs of the rows queued again = %v, want [m0@x m1@x]: they are sent again as the same message", ids)
			}

			// b sends everything; a, come back late, finds its outcome refused.
			var done []store.LedgerUpdate
			for _, p := range append(psB, rest...) {
				done = append(done, store.LedgerUpdate{RecipientID: p.RecipientID, Status: leadmailer.RecipientSent, Attempts: 1, Owner: "b"})
			}
			if err := lb.Write(ctx, done); err != nil {
				t.Fatal(err)
			}
			for _, u := range done {
				if u.LeaseLost {
					t.Errorf("b's outcome for row %d refused", u.RecipientID)
				}
			}
			late := []store.LedgerUpdate{{RecipientID: psA[0].RecipientID, Status: leadmailer.RecipientFailed, Attempts: 1, Owner: "a"}}
			if err := la.Write(ctx, late); err != nil || !late[0].LeaseLost {
				t.Errorf("the dead process's late outcome: %v, lost %v; want it refused", err, late[0].LeaseLost)
			}
			if n, _, err := a.Outstanding(ctx, c.ID); err != nil || n != 0 {
				t.Errorf("Outstanding after b sent everything = %d, %v; want 0", n, err)
			}
			rep, err := a.CampaignReport(ctx, c.ID)
			if err != nil || rep.Sent != leads {
				t.Errorf("report %+v, %v; want all %d sent", rep, err, leads)
			}
		})
	}
}

// TestLeasesNeverHandARowOutTwice: many claims at once from two processes take every queued
// row exactly once.
func TestLeasesNeverHandARowOutTwice(t *testing.T) {
	const leads, claimers = 200, 4
	ctx := context.Background()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dbs := []*store.DB{b.Open(t, nil)}
			dbs = append(dbs, storetest.Reopen(t, dbs[0], nil))
			var rows []leadmailer.ImportRow
			for i := range leads {
				rows = append(rows, row(int64(i+2), "email", fmt.Sprintf("lead%d@example.fi", i)))
			}
			importRows(t, dbs[0], "crm", false, rows)
			c := newCampaign(t, dbs[0], &leadmailer.Campaign{})
			if _, err := dbs[0].ResolveAudience(ctx, c, store.AudienceRules{}); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			taken := map[int64]int{}
			var wg sync.WaitGroup
			for i := range 2 * claimers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					db, owner := dbs[i%2], fmt.Sprintf("p%d", i)
					for {
						ps, _, err := db.LeasePending(ctx, c.ID, owner, time.Now(), time.Minute, 7)
						if err != nil {
							t.Error(err)
							return
						}
						if len(ps) == 0 {
							return
						}
						mu.Lock()
						for _, p := range ps {
							taken[p.RecipientID]++
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(taken) != leads {
				t.Errorf("%d rows leased, want all %d", len(taken), leads)
			}
			for id, n := range taken {
				if n != 1 {
					t.Errorf("row %d leased %d times", id, n)
				}
			}
		})
	}
}

func openLedger(t *testing.T, db *store.DB) *store.Ledger {
	t.Helper()
	l, err := db.OpenLedger(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
