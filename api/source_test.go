package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
)

// fakeRuns stands in for "leadmailer serve"'s source runner: a run started stays running
// until finish is called.
type fakeRuns struct {
	mu      sync.Mutex
	running map[string]bool
	actors  []string
}

func (f *fakeRuns) start(name, actor string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running[name] {
		return leadmailer.Errorf(leadmailer.ECONFLICT, "source %s is running already", name)
	}
	f.running[name] = true
	f.actors = append(f.actors, actor)
	return nil
}

func (f *fakeRuns) isRunning(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[name]
}

func TestSources(t *testing.T) {
	runs := &fakeRuns{running: map[string]bool{}}
	monday9 := func(t time.Time) time.Time { return time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC) }
	a := start(t, api.Options{
		Sources: []api.Source{
			{Name: "registry", Title: "Trade Register", Kind: "http", Location: "https://registry.example/api", Format: "json",
				Licence: "CC BY 4.0", Public: true, Schedule: "0 9 * * 1", NextRun: monday9},
			{Name: "partners", Kind: "file", Location: "/srv/partners.csv", Format: "csv"},
		},
		RunSource: runs.start, SourceRunning: runs.isRunning,
	})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	viewer := a.token("dashboard", leadmailer.RoleViewer, nil)
	for i := range 3 {
		w, err := a.db.BeginImport(t.Context(), &leadmailer.ImportRun{Source: "registry", Kind: leadmailer.KindPublic, Actor: "schedule"}, false)
		if err != nil {
			t.Fatal(err)
		}
		a.clock.Add(time.Minute)
		status := leadmailer.RunCompleted
		if i == 1 {
			status = leadmailer.RunFailed
		}
		if _, err := w.Finish(t.Context(), status, ""); err != nil {
			t.Fatal(err)
		}
	}

	type row struct {
		Name     string
		NextRun  *time.Time `json:"next_run"`
		Running  bool
		LastRun  *leadmailer.ImportRun `json:"last_run"`
		Location string
	}
	var list struct{ Sources []row }
	a.do("GET", "/api/v1/sources", viewer, nil).decode(t, &list)
	if len(list.Sources) != 2 {
		t.Fatalf("sources %+v, want 2", list.Sources)
	}
	reg, part := list.Sources[0], list.Sources[1]
	if reg.Name != "registry" || reg.NextRun == nil || !reg.NextRun.Equal(monday9(time.Time{})) || reg.LastRun == nil || reg.LastRun.ID != 3 || reg.Running {
		t.Errorf("registry %+v: want next run on Monday, last run 3, not running", reg)
	}
	if part.Name != "partners" || part.NextRun != nil || part.LastRun != nil || part.Location != "/srv/partners.csv" {
		t.Errorf("partners %+v: want no schedule and no runs", part)
	}

	if r := a.do("POST", "/api/v1/sources/registry/run", viewer, nil); r.status != http.StatusForbidden {
		t.Errorf("viewer runs a source: %d, want 403", r.status)
	}
	var started row
	r := a.do("POST", "/api/v1/sources/registry/run", crm, nil)
	r.decode(t, &started)
	if r.status != http.StatusAccepted || !started.Running {
		t.Errorf("run: %d %s, want 202 and running", r.status, r.body)
	}
	if r := a.do("POST", "/api/v1/sources/registry/run", crm, nil); r.status != http.StatusConflict {
		t.Errorf("run while running: %d, want 409", r.status)
	}
	if r := a.do("POST", "/api/v1/sources/nowhere/run", crm, nil); r.status != http.StatusNotFound {
		t.Errorf("run an unknown source: %d, want 404", r.status)
	}
	if len(runs.actors) != 1 || runs.actors[0] != "token:crm" {
		t.Errorf("runs started by %q, want one by token:crm", runs.actors)
	}
	// The run is recorded as such, the refused calls by route and status; a source not in
	// the configuration is not named, since the caller may have put anything there.
	var entries []string
	for _, e := range a.auditEntries("token:crm") {
		entries = append(entries, e.Action+" "+e.Target+" "+e.Detail)
	}
	want := []string{
		"source.run source registry ",
		"api.call POST /api/v1/sources/registry/run 409 conflict",
		"api.call POST /api/v1/sources/{name}/run 404 not_found",
	}
	if strings.Join(entries, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit entries:\n%s\nwant\n%s", strings.Join(entries, "\n"), strings.Join(want, "\n"))
	}

	var got struct{ Runs []leadmailer.ImportRun }
	a.do("GET", "/api/v1/sources/registry/runs?limit=2", viewer, nil).decode(t, &got)
	if len(got.Runs) != 2 || got.Runs[0].ID != 3 || got.Runs[1].Status != leadmailer.RunFailed {
		t.Errorf("runs %+v: want runs 3 and 2 (failed), newest first", got.Runs)
	}
	for path, want := range map[string]int{
		"/api/v1/sources/partners/runs":         200,
		"/api/v1/sources/nowhere/runs":          404,
		"/api/v1/sources/registry/runs?limit=0": 400,
	} {
		if r := a.do("GET", path, viewer, nil); r.status != want {
			t.Errorf("GET %s: %d, want %d", path, r.status, want)
		}
	}
}
