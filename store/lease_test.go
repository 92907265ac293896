package store_test

import (
	"context"
	"fmt"
	"strings"
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
			storetest.ClaimEachOnce(t, 2*claimers, leads, "row", func(i int) ([]int64, error) {
				ps, _, err := dbs[i%2].LeasePending(ctx, c.ID, fmt.Sprintf("p%d", i), time.Now(), time.Minute, 7)
				ids := make([]int64, len(ps))
				for k, p := range ps {
					ids[k] = p.RecipientID
				}
				return ids, err
			})
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

// TestLedgerAndRenewalsOfOneProcessAtOnce: a sending process writes its ledger on one
// connection while it renews its leases on another, and both touch the same rows. Neither
// may fail: on PostgreSQL a renewal that waited for the ledger's row locks while holding
// rows the ledger goes on to deadlocked, and the lost ledger write paused the campaign.
func TestLedgerAndRenewalsOfOneProcessAtOnce(t *testing.T) {
	const leads, lease, rounds = 200, time.Minute, 8
	ctx := context.Background()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			var rows []leadmailer.ImportRow
			for i := range leads {
				rows = append(rows, row(int64(i+2), "email", fmt.Sprintf("lead%d@example.fi", i)))
			}
			importRows(t, db, "crm", false, rows)
			c := newCampaign(t, db, &leadmailer.Campaign{})
			if _, err := db.ResolveAudience(ctx, c, store.AudienceRules{}); err != nil {
				t.Fatal(err)
			}
			ledger := openLedger(t, db)

			stop := make(chan struct{})
			renewErr := make(chan error, 1)
			go func() {
				defer close(renewErr)
				for {
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Millisecond):
					}
					if _, err := db.RenewLeases(ctx, c.ID, "a", time.Now().Add(lease)); err != nil {
						renewErr <- err
						return
					}
				}
			}()
			// Each round leases every row, marks them sending and queues them again for a
			// retry, from the highest row down, against the renewal's scan in the table's
			// order, as a batch of outcomes arriving out of order does.
			for round := range rounds {
				// A claim skips the rows a renewal holds locked at that instant (SKIP LOCKED):
				// they are the next claim's.
				var ps []store.Pending
				for try := 0; len(ps) < leads && try < 100; try++ {
					more, _, err := db.LeasePending(ctx, c.ID, "a", time.Now(), lease, leads-len(ps))
					if err != nil {
						close(stop)
						t.Fatalf("round %d: lease: %v", round, err)
					}
					ps = append(ps, more...)
				}
				if len(ps) != leads {
					close(stop)
					t.Fatalf("round %d: leased %d rows; want %d", round, len(ps), leads)
				}
				for _, status := range []leadmailer.RecipientStatus{leadmailer.RecipientSending, leadmailer.RecipientQueued} {
					var batch []store.LedgerUpdate
					for i := len(ps) - 1; i >= 0; i-- {
						batch = append(batch, store.LedgerUpdate{RecipientID: ps[i].RecipientID, Status: status,
							MessageID: fmt.Sprintf("m%d@x", i), Attempts: 1, Owner: "a"})
					}
					if err := ledger.Write(ctx, batch); err != nil {
						close(stop)
						t.Fatalf("round %d: %v", round, err)
					}
					for _, u := range batch {
						if u.LeaseLost {
							close(stop)
							t.Fatalf("round %d: %s mark of row %d refused: the process holds its lease", round, status, u.RecipientID)
						}
					}
				}
			}
			close(stop)
			if err := <-renewErr; err != nil {
				t.Fatalf("renew leases: %v", err)
			}
		})
	}
}

// TestLedgerWriteOutlivesADeadlock: on PostgreSQL another transaction (an import, say) that
// locks the leads a ledger batch marks undeliverable, in the other order, deadlocks with it,
// and PostgreSQL aborts one of the two. When it is the ledger's, the ledger runs its batch
// again instead of failing it: a failed ledger write pauses the campaign.
func TestLedgerWriteOutlivesADeadlock(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenPostgres(t, nil) // skips the test without PostgreSQL
	importRows(t, db, "crm", false, []leadmailer.ImportRow{
		row(2, "email", "first@example.fi"), row(3, "email", "second@example.fi"),
	})
	c := newCampaign(t, db, &leadmailer.Campaign{})
	if _, err := db.ResolveAudience(ctx, c, store.AudienceRules{}); err != nil {
		t.Fatal(err)
	}
	ps, _, err := db.LeasePending(ctx, c.ID, "a", time.Now(), time.Minute, 2)
	if err != nil || len(ps) != 2 {
		t.Fatalf("leased %d rows, %v; want 2", len(ps), err)
	}
	first, second := ps[0], ps[1]

	// The other transaction holds the second lead; once the ledger holds the first and
	// waits for the second, it asks for the first.
	raw := storetest.Raw(t, db)
	other, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	if _, err := other.ExecContext(ctx, `UPDATE leads SET country = country WHERE id = $1`, second.LeadID); err != nil {
		t.Fatal(err)
	}
	otherDone := make(chan error, 1)
	go func() {
		// The ledger is waiting once its backend's lock on the second lead shows.
		for {
			var waiting bool
			if err := raw.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND locktype = 'transactionid')`).Scan(&waiting); err != nil {
				otherDone <- err
				return
			}
			if waiting {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		_, err := other.ExecContext(ctx, `UPDATE leads SET country = country WHERE id = $1`, first.LeadID)
		if err == nil {
			err = other.Commit()
		} else {
			other.Rollback()
		}
		otherDone <- err
	}()

	ledger := openLedger(t, db)
	batch := []store.LedgerUpdate{
		{RecipientID: first.RecipientID, Status: leadmailer.RecipientFailed, Attempts: 1, Reply: "550 5.1.1 no such user",
			Undeliverable: true, LeadID: first.LeadID, Owner: "a"},
		{RecipientID: second.RecipientID, Status: leadmailer.RecipientFailed, Attempts: 1, Reply: "550 5.1.1 no such user",
			Undeliverable: true, LeadID: second.LeadID, Owner: "a"},
	}
	if err := ledger.Write(ctx, batch); err != nil {
		t.Fatalf("ledger write beside a deadlocking transaction: %v", err)
	}
	otherErr := <-otherDone
	if otherErr == nil {
		t.Log("PostgreSQL aborted the ledger's transaction, which ran again")
	} else if !strings.Contains(otherErr.Error(), "40P01") {
		t.Fatalf("the other transaction: %v", otherErr)
	}
	for _, p := range ps {
		if bad, _, err := db.IsUndeliverable(ctx, p.LeadID); err != nil || !bad {
			t.Errorf("lead %d undeliverable = %v, %v; want marked once the ledger's write went through", p.LeadID, bad, err)
		}
	}
}
