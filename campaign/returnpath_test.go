package campaign_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/bounce"
	"github.com/leadmailer/leadmailer/campaign"
)

// With a bounce domain, each recipient's message leaves with its own envelope sender, which
// names exactly that campaign and lead, and its Message-ID names them too; a bounce of
// either can be tied back to the ledger row.
func TestRunSendsPerRecipientReturnPaths(t *testing.T) {
	const n = 20
	f := newFixture(t, n, 2)
	s := settings
	s.ReturnPaths = bounce.NewSigner([]byte("return path key"), "bounces", "bounces.focus.example")
	res, err := campaign.Run(context.Background(), f.db, f.tr, f.c.ID, s, campaign.Options{Concurrency: 2, Backoff: time.Millisecond})
	if err != nil || res.Sent != n {
		t.Fatalf("run: %+v, %v; want %d sent", res, err, n)
	}
	recs := recipients(t, f.db, f.c.ID)
	seen := map[string]bool{}
	for _, m := range f.srv.Messages() {
		if len(m.To) != 1 {
			t.Fatalf("message to %v", m.To)
		}
		c, lead, err := s.ReturnPaths.Parse(m.From)
		if err != nil {
			t.Fatalf("envelope sender %q: %v", m.From, err)
		}
		r := recs[m.To[0]]
		if c != f.c.ID || r == nil || lead != r.LeadID {
			t.Errorf("envelope sender %q names campaign %d lead %d; the message went to %s (lead %v)", m.From, c, lead, m.To[0], r)
		}
		if seen[m.From] {
			t.Errorf("envelope sender %q used twice", m.From)
		}
		seen[m.From] = true
		if strings.Contains(string(m.Data), "Return-Path:") {
			t.Error("the message sent over SMTP has a Return-Path field; only the receiving server adds one")
		}
		if mc, ml, ok := campaign.ParseMessageID(s.MessageIDKey, m.MessageID); !ok || mc != c || ml != lead {
			t.Errorf("Message-ID %q parses to %d, %d, %v", m.MessageID, mc, ml, ok)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct return paths for %d messages", len(seen), n)
	}
	if _, _, ok := campaign.ParseMessageID([]byte("another key"), f.srv.Messages()[0].MessageID); ok {
		t.Error("a Message-ID verified under another key")
	}
	if _, _, ok := campaign.ParseMessageID(s.MessageIDKey, fmt.Sprintf("c%d.l1.0000000000@focus.example", f.c.ID)); ok {
		t.Error("a forged Message-ID verified")
	}
}
