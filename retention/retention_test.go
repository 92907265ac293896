package retention_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/retention"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

const day = 24 * time.Hour

type fixture struct {
	db     *store.DB
	now    time.Time
	runner *retention.Runner
}

func newFixture(t *testing.T, policy retention.Policy) *fixture {
	f := &fixture{now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	f.db = storetest.Open(t, clock)
	f.runner = &retention.Runner{Store: f.db, Policy: policy, Now: clock}
	return f
}

// observe imports one row per address from source at the fixture's current time.
func (f *fixture) observe(t *testing.T, source string, emails ...string) {
	t.Helper()
	ctx := context.Background()
	w, err := f.db.BeginImport(ctx, &leadmailer.ImportRun{Source: source, Kind: leadmailer.KindPublic, Actor: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var rows []leadmailer.ImportRow
	for i, e := range emails {
		r := leadmailer.ImportRow{Row: int64(i + 2), EmailHash: w.SuppressionHash(e)}
		r.Values[leadmailer.FieldEmail], r.Received[leadmailer.FieldEmail] = e, e
		r.Values[leadmailer.FieldName], r.Received[leadmailer.FieldName] = "Person "+e, "Person "+e
		r.Supplied = r.Supplied.With(leadmailer.FieldEmail).With(leadmailer.FieldName)
		rows = append(rows, r)
	}
	if _, err := w.WriteBatch(ctx, rows, leadmailer.ImportCounts{Read: int64(len(rows))}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(ctx, leadmailer.RunCompleted, ""); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) apply(t *testing.T, dryRun bool) *retention.Report {
	t.Helper()
	rep, err := f.runner.Apply(context.Background(), dryRun)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// states maps each stored address to its state.
func (f *fixture) states(t *testing.T) map[string]leadmailer.LeadState {
	t.Helper()
	m := map[string]leadmailer.LeadState{}
	err := f.db.FindLeads(context.Background(), store.LeadFilter{}, func(l *leadmailer.Lead) error {
		m[l.Email] = l.State
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *fixture) wantStates(t *testing.T, when string, want map[string]leadmailer.LeadState) {
	t.Helper()
	got := f.states(t)
	if len(got) != len(want) {
		t.Errorf("%s: leads %v, want %v", when, got, want)
		return
	}
	for e, s := range want {
		if got[e] != s {
			t.Errorf("%s: %s is %q, want %q", when, e, got[e], s)
		}
	}
}

// TestLifecycle walks leads through active -> inactive -> deleted with an injected clock.
func TestLifecycle(t *testing.T) {
	f := newFixture(t, retention.Policy{Default: retention.Periods{InactiveAfter: 730 * day, DeleteAfter: 365 * day}})
	ctx := context.Background()
	start := f.now
	at := func(d int) { f.now = start.Add(time.Duration(d) * day) }
	type A = leadmailer.LeadState
	f.observe(t, "crm", "old@a.example", "renewed@a.example", "ended@a.example")
	if _, err := f.db.EndRelationship(ctx, "ended@a.example"); err != nil {
		t.Fatal(err)
	}
	ended, _ := f.db.FindLeadByEmail(ctx, "ended@a.example")

	at(100) // ending it again does not put off the deletion
	if _, err := f.db.EndRelationship(ctx, "ended@a.example"); err != nil {
		t.Fatal(err)
	}
	at(364)
	if rep := f.apply(t, false); rep.Checked != 3 || len(rep.Deactivated)+len(rep.Deleted) != 0 {
		t.Errorf("day 364: %+v, want 3 checked and nothing moved", rep)
	}
	at(365) // the ended relationship has been inactive for delete_after
	rep := f.apply(t, false)
	if !slices.Equal(rep.Deleted, []int64{ended.ID}) || rep.Removed != (store.Deletion{Leads: 1, Observations: 1}) {
		t.Errorf("day 365: deleted %v, removed %+v; want ended@ with its one observation", rep.Deleted, rep.Removed)
	}
	if obs, _ := f.db.FindObservations(ctx, ended.ID); len(obs) != 0 {
		t.Errorf("the deleted lead's provenance is still there: %+v", obs)
	}

	at(400)
	f.observe(t, "registry", "renewed@a.example") // an observation is activity

	at(730)
	rep = f.apply(t, true)
	if len(rep.Deactivated) != 1 || !rep.DryRun {
		t.Errorf("dry run on day 730: %+v, want one to deactivate", rep)
	}
	f.wantStates(t, "after the dry run", map[string]A{"old@a.example": "active", "renewed@a.example": "active"})
	rep = f.apply(t, false)
	if len(rep.Deactivated) != 1 || len(rep.Deleted) != 0 {
		t.Errorf("day 730: %+v, want one deactivated", rep)
	}
	f.wantStates(t, "day 730", map[string]A{"old@a.example": "inactive", "renewed@a.example": "active"})

	at(1094)
	if rep := f.apply(t, false); len(rep.Deleted) != 0 {
		t.Errorf("day 1094: deleted %v, want none yet", rep.Deleted)
	}
	at(1095)
	if rep := f.apply(t, false); rep.Removed.Leads != 1 || len(rep.Deactivated) != 0 {
		t.Errorf("day 1095: %+v, want old@ deleted", rep)
	}
	f.wantStates(t, "day 1095", map[string]A{"renewed@a.example": "active"})
	at(1130) // 730 days after the registry observed renewed@
	if rep := f.apply(t, false); len(rep.Deactivated) != 1 {
		t.Errorf("day 1130: %+v, want renewed@ deactivated", rep)
	}
	f.wantStates(t, "day 1130", map[string]A{"renewed@a.example": "inactive"})
	if n, _ := f.db.CountLeads(ctx); n != 1 {
		t.Errorf("%d leads left, want 1", n)
	}
}

// TestReactivateAndSuppression: reactivation starts the period afresh; a suppressed lead
// cannot be reactivated.
func TestReactivateAndSuppression(t *testing.T) {
	f := newFixture(t, retention.Policy{Default: retention.Periods{InactiveAfter: 10 * day, DeleteAfter: 5 * day}})
	ctx := context.Background()
	f.observe(t, "crm", "back@a.example", "objector@a.example")
	f.now = f.now.Add(11 * day)
	f.apply(t, false)
	f.wantStates(t, "day 11", map[string]leadmailer.LeadState{"back@a.example": "inactive", "objector@a.example": "inactive"})
	if err := f.db.SuppressAddress(ctx, "objector@a.example", "objected"); err != nil {
		t.Fatal(err)
	}
	l, err := f.db.ReactivateLead(ctx, "back@a.example")
	if err != nil || l.State != leadmailer.LeadActive {
		t.Fatalf("reactivate: %+v, %v", l, err)
	}
	if _, err := f.db.ReactivateLead(ctx, "objector@a.example"); leadmailer.ErrorCode(err) != leadmailer.ECONFLICT {
		t.Errorf("reactivating a suppressed lead: error %v, want conflict", err)
	}
	f.now = f.now.Add(9 * day)
	rep := f.apply(t, false)
	if !slices.Equal(rep.Deleted, []int64{2}) || len(rep.Deactivated) != 0 {
		t.Errorf("day 20: %+v, want only the objector (id 2) deleted", rep)
	}
	f.wantStates(t, "day 20", map[string]leadmailer.LeadState{"back@a.example": "active"})
	if ok, _ := f.db.IsSuppressed(ctx, "objector@a.example"); !ok {
		t.Error("deletion lost the suppression")
	}
}

// TestPerSourcePeriods: a source with a shorter period lets its leads go sooner, unless
// another source observed them later.
func TestPerSourcePeriods(t *testing.T) {
	f := newFixture(t, retention.Policy{
		Default: retention.Periods{InactiveAfter: 100 * day, DeleteAfter: 50 * day},
		Sources: map[string]retention.Periods{"fair": {InactiveAfter: 30 * day}, "registry": {DeleteAfter: 200 * day}},
	})
	f.observe(t, "fair", "fair-only@a.example", "both@a.example")
	f.observe(t, "crm", "both@a.example")
	f.observe(t, "registry", "registry@a.example")
	f.now = f.now.Add(30 * day)
	f.apply(t, false)
	f.wantStates(t, "day 30", map[string]leadmailer.LeadState{
		"fair-only@a.example": "inactive", "both@a.example": "active", "registry@a.example": "active"})
	f.now = f.now.Add(70 * day) // day 100
	f.apply(t, false)
	f.now = f.now.Add(51 * day) // day 151: 51 days inactive for both and registry
	f.apply(t, false)
	f.wantStates(t, "day 151", map[string]leadmailer.LeadState{"registry@a.example": "inactive"})
}
