package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestIdempotencyKeyAcrossProcesses: two servers on one database, as two "leadmailer serve"
// processes are, get retries of one call with one Idempotency-Key at the same moment. The
// batch is imported once: every other answer is the first one replayed, or a 409 with
// Retry-After while the first still runs, and a retry after that gets the first answer. A
// key claimed by a process that died is taken over once the claim is an hour old.
func TestIdempotencyKeyAcrossProcesses(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
			a := startOn(t, api.Options{}, b.Open(t, clk.Now), clk)
			other := a.beside()
			tok := a.token("crm", leadmailer.RoleMarketer, nil)
			body := leadBatch(0, 1000)

			const calls = 6
			answers := make([]*answer, calls)
			var wg sync.WaitGroup
			for i := range calls {
				server := a
				if i%2 == 1 {
					server = other
				}
				wg.Go(func() { answers[i] = server.do("POST", "/api/v1/leads", tok, body, "Idempotency-Key", "sync-1") })
			}
			wg.Wait()
			var first []byte
			for i, r := range answers {
				switch {
				case r.status == 200 && r.header.Get("Idempotent-Replayed") == "":
					if first != nil {
						t.Errorf("call %d ran the import again", i)
					}
					first = r.body
				case r.status == 200:
				case r.status == 409:
					if code, field := r.apiError(t); code != leadmailer.ECONFLICT || field != "Idempotency-Key" || r.header.Get("Retry-After") == "" {
						t.Errorf("call %d: 409 %s %s, Retry-After %q; want a conflict on the key with Retry-After", i, code, field, r.header.Get("Retry-After"))
					}
				default:
					t.Errorf("call %d: %d %s", i, r.status, r.body)
				}
			}
			runs, err := a.db.FindImportRuns(t.Context(), "api:crm", 10)
			if err != nil || len(runs) != 1 || first == nil {
				t.Fatalf("%d import runs (%v), first answer %q; want the batch imported once", len(runs), err, first)
			}
			for _, server := range []*apiTest{a, other} {
				r := server.do("POST", "/api/v1/leads", tok, body, "Idempotency-Key", "sync-1")
				if r.status != 200 || r.header.Get("Idempotent-Replayed") != "true" || string(r.body) != string(first) {
					t.Errorf("retry once the first call answered: %d %q %s; want the first answer replayed", r.status, r.header.Get("Idempotent-Replayed"), r.body)
				}
			}

			// A process claimed "sync-2" for this very batch and died before answering.
			tokenID := tokenIDOf(t, a.db, "crm")
			dead := storetest.Reopen(t, a.db, clk.Now)
			if kept, err := dead.ClaimIdempotencyKey(t.Context(), tokenID, "sync-2", leadsHash(t, body), clk.Now().Add(-24*time.Hour), clk.Now().Add(-time.Hour)); err != nil || kept != nil {
				t.Fatalf("claim: %v, %v", kept, err)
			}
			r := other.do("POST", "/api/v1/leads", tok, body, "Idempotency-Key", "sync-2")
			if r.status != 409 || r.header.Get("Retry-After") == "" {
				t.Errorf("retry while the claim is fresh: %d %s; want 409 with Retry-After", r.status, r.body)
			}
			clk.Add(61 * time.Minute)
			if r := other.do("POST", "/api/v1/leads", tok, body, "Idempotency-Key", "sync-2"); r.status != 200 || r.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("retry an hour after a dead process's claim: %d %q %s; want the call made", r.status, r.header.Get("Idempotent-Replayed"), r.body)
			}
			if runs, err := a.db.FindImportRuns(t.Context(), "api:crm", 10); err != nil || len(runs) != 2 {
				t.Errorf("%d import runs (%v), want 2", len(runs), err)
			}
		})
	}
}

// tokenIDOf returns the ID of the live token named name.
func tokenIDOf(t *testing.T, db *store.DB, name string) int64 {
	t.Helper()
	toks, err := db.FindAPITokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if tok.Name == name && tok.RevokedAt == nil {
			return tok.ID
		}
	}
	t.Fatalf("no token %q", name)
	return 0
}

// leadsHash is the request hash the API gives a lead batch: the digest of the body as the
// test client sends it.
func leadsHash(t *testing.T, body any) string {
	t.Helper()
	in, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(in)
	return hex.EncodeToString(sum[:])
}
