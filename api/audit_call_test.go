package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
	"github.com/leadmailer/leadmailer/store/storetest"
	"golang.org/x/time/rate"
)

// TestCallAnsweredBeforeItsAuditEntry: a call whose entry the API records after answering
// (a read of something other than personal data) gets its whole answer while the database's
// writer is held elsewhere, as an import's batch holds it, and its entry is recorded once
// the writer is free. The writer is held until the answer has arrived: were the answer sent
// only after the entry, the entry would wait until its busy timeout ran out, and fail.
func TestCallAnsweredBeforeItsAuditEntry(t *testing.T) {
	a := start(t, api.Options{Rate: rate.Inf}) // no rate to take: the call's only write is its entry
	viewer := a.token("dashboard", leadmailer.RoleViewer, nil)
	a.do("GET", "/api/v1/sources", viewer, nil) // the token's last use, written now

	raw := storetest.Raw(t, a.db)
	writer, err := raw.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if _, err := writer.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			if _, err := writer.ExecContext(context.Background(), `ROLLBACK`); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer release()

	type result struct {
		status int
		body   []byte
		err    error
	}
	answered := make(chan result, 1)
	go func() {
		req, err := http.NewRequest("GET", a.url+"/api/v1/sources", nil)
		if err != nil {
			answered <- result{err: err}
			return
		}
		req.Header.Set("Authorization", "Bearer "+viewer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		answered <- result{status: resp.StatusCode, body: body, err: err}
	}()
	var r result
	select {
	case r = <-answered:
	case <-time.After(5 * time.Second): // half the busy timeout the entry waits
		t.Fatal("no whole answer within 5 s while the writer was held: the answer waits for the call's audit entry")
	}
	if r.err != nil || r.status != http.StatusOK || !json.Valid(r.body) {
		t.Fatalf("answer while the writer was held: %d %q, %v; want 200 and a whole JSON body", r.status, r.body, r.err)
	}
	release()

	deadline := time.Now().Add(15 * time.Second)
	for {
		var calls int
		for _, e := range a.auditEntries("token:dashboard") {
			if e.Action == leadmailer.AuditAPICall && e.Target == "GET /api/v1/sources" && e.Detail == "200" {
				calls++
			}
		}
		if calls == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries of GET /api/v1/sources 200 after the writer was released, want 2: the call made while it was held is not recorded", calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
