package store_test

import (
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

func TestAPITokenLifecycle(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { testAPITokenLifecycle(t, b.Open(t, nil)) })
	}
}

func testAPITokenLifecycle(t *testing.T, db *store.DB) {
	ctx := t.Context()
	audit := func(action string) *leadmailer.AuditEntry {
		return &leadmailer.AuditEntry{Actor: "os:test", Action: action, Target: "crm"}
	}
	tok := &leadmailer.APIToken{Name: "crm", Role: leadmailer.RoleMarketer, TokenHash: "h1", CreatedBy: "os:test"}
	if err := db.CreateAPIToken(ctx, tok, audit(leadmailer.AuditTokenAdd)); err != nil {
		t.Fatal(err)
	}
	again := &leadmailer.APIToken{Name: "crm", Role: leadmailer.RoleViewer, TokenHash: "h2", CreatedBy: "os:test"}
	if err := db.CreateAPIToken(ctx, again, audit(leadmailer.AuditTokenAdd)); leadmailer.ErrorCode(err) != leadmailer.ECONFLICT {
		t.Fatalf("second token named crm: got %v, want a conflict", err)
	}
	got, err := db.FindAPITokenByHash(ctx, "h1")
	if err != nil || got.Name != "crm" || got.Role != leadmailer.RoleMarketer || got.Status(got.CreatedAt) != leadmailer.TokenActive {
		t.Fatalf("find by hash: got %+v, %v", got, err)
	}
	if err := db.RevokeAPIToken(ctx, "crm", audit(leadmailer.AuditTokenRevoke)); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeAPIToken(ctx, "crm", audit(leadmailer.AuditTokenRevoke)); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
		t.Fatalf("revoking a revoked token: got %v, want not found", err)
	}
	got, _ = db.FindAPITokenByHash(ctx, "h1")
	if got.Status(got.CreatedAt) != leadmailer.TokenRevoked {
		t.Errorf("revoked token has status %s", got.Status(got.CreatedAt))
	}
	// A revoked name may be given to a new token.
	if err := db.CreateAPIToken(ctx, again, audit(leadmailer.AuditTokenAdd)); err != nil {
		t.Fatalf("new token with a revoked name: %v", err)
	}
	tokens, err := db.FindAPITokens(ctx)
	if err != nil || len(tokens) != 2 {
		t.Fatalf("FindAPITokens: got %d tokens, %v; want 2", len(tokens), err)
	}
	// The refused token and the refused revoke left no entry: only what happened is recorded.
	var actions []string
	if err := db.FindAuditEntries(ctx, store.AuditFilter{Actor: "os:test"}, func(e *leadmailer.AuditEntry) error {
		actions = append(actions, e.Action)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(actions) != 3 {
		t.Errorf("audit actions: got %q, want add, revoke, add", actions)
	}
}

// An import run of kind api is stored: migration 0017 widened the kind check in place.
func TestImportRunKindAPI(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { testImportRunKindAPI(t, b.Open(t, nil)) })
	}
}

func testImportRunKindAPI(t *testing.T, db *store.DB) {
	ctx := t.Context()
	w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "crm", Kind: leadmailer.KindAPI, Actor: "token:crm"}, false)
	if err != nil {
		t.Fatal(err)
	}
	run, err := w.Finish(ctx, leadmailer.RunCompleted, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.FindImportRun(ctx, run.ID)
	if err != nil || got.Kind != leadmailer.KindAPI {
		t.Fatalf("run %d: got %+v, %v; want kind api", run.ID, got, err)
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestIdempotencyKeyClaims: a key is claimed once across handles; a failed call gives it
// back; an answered one is kept for the day and then forgotten; a claim never answered is
// taken over once it is older than the caller's limit.
func TestIdempotencyKeyClaims(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			db := b.Open(t, clock)
			other := storetest.Reopen(t, db, clock)
			ctx := t.Context()
			tok := &leadmailer.APIToken{Name: "crm", Role: leadmailer.RoleMarketer, TokenHash: "h", CreatedBy: "os:test"}
			if err := db.CreateAPIToken(ctx, tok, &leadmailer.AuditEntry{Actor: "os:test", Action: leadmailer.AuditTokenAdd, Target: "crm"}); err != nil {
				t.Fatal(err)
			}
			claim := func(h *store.DB, key, hash string) *store.IdempotentResponse {
				t.Helper()
				kept, err := h.ClaimIdempotencyKey(ctx, tok.ID, key, hash, now.Add(-24*time.Hour), now.Add(-time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				return kept
			}
			if kept := claim(db, "k", "h1"); kept != nil {
				t.Fatalf("first claim: %+v, want the key claimed", kept)
			}
			if kept := claim(other, "k", "h1"); kept == nil || !kept.Running() || kept.RequestHash != "h1" {
				t.Fatalf("claim from another handle: %+v, want the first claim running", kept)
			}
			if err := db.ReleaseIdempotencyKey(ctx, tok.ID, "k"); err != nil {
				t.Fatal(err)
			}
			if kept := claim(other, "k", "h1"); kept != nil {
				t.Fatalf("claim after the first call failed: %+v, want the key claimed again", kept)
			}
			if err := other.SaveIdempotentResponse(ctx, tok.ID, "k", &store.IdempotentResponse{RequestHash: "h1", Status: 201, Body: []byte("made")}); err != nil {
				t.Fatal(err)
			}
			if err := db.ReleaseIdempotencyKey(ctx, tok.ID, "k"); err != nil {
				t.Fatal(err)
			}
			if kept := claim(db, "k", "h2"); kept == nil || kept.Running() || kept.Status != 201 || string(kept.Body) != "made" || kept.RequestHash != "h1" {
				t.Fatalf("claim of an answered key: %+v, want its answer, kept through a release", kept)
			}

			// A claim nobody answers: taken over once older than an hour, not before.
			if kept := claim(db, "dead", "h3"); kept != nil {
				t.Fatal("claim of a new key refused")
			}
			now = now.Add(59 * time.Minute)
			if kept := claim(other, "dead", "h3"); kept == nil || !kept.Running() {
				t.Fatalf("claim of a 59-minute-old claim: %+v, want it still running", kept)
			}
			now = now.Add(2 * time.Minute)
			if kept := claim(other, "dead", "h3"); kept != nil {
				t.Fatalf("claim of an abandoned claim: %+v, want it taken over", kept)
			}
			// A day after its answer the key is forgotten.
			now = now.Add(24 * time.Hour)
			if kept := claim(db, "k", "h2"); kept != nil {
				t.Fatalf("claim a day after the answer: %+v, want the key new", kept)
			}
		})
	}
}
