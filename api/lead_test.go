package api_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
)

// leadBatch returns leads first to first+n-1 as an upsert body.
func leadBatch(first, n int) map[string]any {
	leads := make([]any, n)
	for i := range leads {
		k := first + i
		leads[i] = map[string]any{"email": fmt.Sprintf("lead%05d@example.fi", k), "name": fmt.Sprintf("Lead %d", k),
			"company": "Example Oy", "country": "FI", "city": "Tampere"}
	}
	return map[string]any{"leads": leads}
}

func TestUpsertTenThousandLeads(t *testing.T) {
	a := start(t, api.Options{})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	viewer := a.token("dashboard", leadmailer.RoleViewer, nil)
	const total, size = 10_000, 1_000
	runs := map[int64]int{} // run ID -> first lead number
	for first := 0; first < total; first += size {
		r := a.do("POST", "/api/v1/leads", crm, leadBatch(first, size), "Idempotency-Key", "batch-"+strconv.Itoa(first))
		if r.status != http.StatusOK {
			t.Fatalf("batch at %d: %d %s", first, r.status, r.body)
		}
		var res struct {
			Run    leadmailer.ImportRun
			Errors []any
		}
		r.decode(t, &res)
		if res.Run.Counts.Inserted != size || len(res.Errors) != 0 || res.Run.Status != leadmailer.RunCompleted {
			t.Fatalf("batch at %d: run %+v, errors %v", first, res.Run, res.Errors)
		}
		runs[res.Run.ID] = first
	}
	if n, err := a.db.CountLeads(t.Context()); err != nil || n != total {
		t.Fatalf("stored %d leads, %v; want %d", n, err, total)
	}

	// Page through them all as a dashboard would, and check the provenance of a few.
	seen, after, pages := 0, "", 0
	for {
		path := "/api/v1/leads?limit=1000&source=api:crm"
		if after != "" {
			path += "&after=" + after
		}
		r := a.do("GET", path, viewer, nil)
		var page struct {
			Leads      []leadmailer.Lead
			NextCursor string `json:"next_cursor"`
		}
		r.decode(t, &page)
		for _, l := range page.Leads {
			if want := fmt.Sprintf("lead%05d@example.fi", seen); l.Email != want {
				t.Fatalf("lead %d of the list is %s, want %s", seen, l.Email, want)
			}
			seen++
		}
		pages++
		if page.NextCursor == "" {
			break
		}
		after = page.NextCursor
	}
	if seen != total || pages != total/1000 {
		t.Errorf("paged through %d leads in %d pages, want %d in %d", seen, pages, total, total/1000)
	}
	for _, k := range []int{0, 4321, total - 1} {
		l, err := a.db.FindLeadByEmail(t.Context(), fmt.Sprintf("lead%05d@example.fi", k))
		if err != nil {
			t.Fatal(err)
		}
		r := a.do("GET", "/api/v1/leads/"+strconv.FormatInt(l.ID, 10), viewer, nil)
		var d struct {
			Fields []struct {
				Field, Value, Source string
				Kind                 leadmailer.SourceKind
				RunID                int64 `json:"run_id"`
				Row                  int64
			}
			Observations []leadmailer.Observation
		}
		r.decode(t, &d)
		if len(d.Observations) != 1 || len(d.Fields) != 5 {
			t.Fatalf("lead %d: %d observations and %d fields, want 1 and 5: %s", k, len(d.Observations), len(d.Fields), r.body)
		}
		o := d.Observations[0]
		first, ok := runs[o.RunID]
		if !ok || o.Source != "api:crm" || o.Kind != leadmailer.KindAPI || o.Row != int64(k-first+1) || o.Received["country"] != "FI" {
			t.Errorf("lead %d: observation %+v; want source api:crm, kind api, row %d of its batch", k, o, k-first+1)
		}
		for _, f := range d.Fields {
			if f.RunID != o.RunID || f.Source != "api:crm" || f.Row != o.Row {
				t.Errorf("lead %d: field %s came from run %d row %d of %s, want run %d row %d", k, f.Field, f.RunID, f.Row, f.Source, o.RunID, o.Row)
			}
		}
	}
	// Every batch is in the audit trail under the token's name.
	imports := 0
	for _, e := range a.auditEntries("token:crm") {
		if e.Action == leadmailer.AuditImport {
			imports++
		}
	}
	if imports != total/size {
		t.Errorf("%d import entries in the audit trail, want %d", imports, total/size)
	}
}

func TestExportAndErase(t *testing.T) {
	a := start(t, api.Options{})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	admin := a.token("privacy", leadmailer.RoleAdmin, nil)
	a.do("POST", "/api/v1/leads", crm, batch(lead("anna@virta.fi")))
	l, err := a.db.FindLeadByEmail(t.Context(), "anna@virta.fi")
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/leads/" + strconv.FormatInt(l.ID, 10)
	var x struct {
		Lead       leadmailer.Lead
		Provenance []leadmailer.Observation
	}
	a.do("GET", path+"/export", admin, nil).decode(t, &x)
	if x.Lead.Email != "anna@virta.fi" || len(x.Provenance) != 1 || x.Provenance[0].Source != "api:crm" {
		t.Errorf("export: %+v", x)
	}
	if r := a.do("DELETE", path, admin, nil); r.status != 400 {
		t.Errorf("erase without a reason: %d, want 400", r.status)
	}
	// A rejects file an older version left in the data directory holds a row of hers.
	old := filepath.Join(a.dataDir, "rejects", "old-20250101T000000.csv")
	if err := os.MkdirAll(filepath.Dir(old), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("row,reason,email\n2,bad country, anna@virta.fi\n3,bad country,bob@virta.fi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := a.do("DELETE", path+"?reason=erasure+request", admin, nil)
	if r.status != 200 {
		t.Fatalf("erase: %d %s", r.status, r.body)
	}
	var er struct {
		Observations int64
		Rejects      int64
		RejectFiles  struct{ Rows, Files int64 } `json:"reject_files"`
	}
	r.decode(t, &er)
	if er.Observations != 1 || er.RejectFiles.Rows != 1 || er.RejectFiles.Files != 1 {
		t.Errorf("erasure answer %+v, want 1 observation and 1 row removed from 1 rejects file", er)
	}
	if b, err := os.ReadFile(old); err != nil || strings.Contains(string(b), "anna") || !strings.Contains(string(b), "bob") {
		t.Errorf("rejects file after the erasure: %q, %v; want bob's row and not anna's", b, err)
	}
	if r := a.do("GET", path, admin, nil); r.status != 404 {
		t.Errorf("erased lead still answered: %d", r.status)
	}
	// The address stays out: pushing it again is suppressed, not stored.
	var res struct{ Run leadmailer.ImportRun }
	a.do("POST", "/api/v1/leads", crm, batch(lead("anna@virta.fi"))).decode(t, &res)
	if res.Run.Counts.Suppressed != 1 || res.Run.Counts.Inserted != 0 {
		t.Errorf("re-pushing an erased address: counts %+v, want 1 suppressed", res.Run.Counts)
	}
	// The refused erasure and the read of the erased lead are recorded by route and status.
	var actions []string
	for _, e := range a.auditEntries("token:privacy") {
		if e.Action == leadmailer.AuditAPICall {
			actions = append(actions, e.Target+" "+e.Detail)
			continue
		}
		actions = append(actions, e.Action)
		if e.Target != "" && e.Target != "lead "+strconv.FormatInt(l.ID, 10) {
			t.Errorf("audit entry names %q, want the lead by number", e.Target)
		}
	}
	want := fmt.Sprintf("[lead.export DELETE %[1]s 400 invalid lead.erase GET %[1]s 404 not_found]", path)
	if fmt.Sprint(actions) != want {
		t.Errorf("audit actions %v, want %s", actions, want)
	}
}
