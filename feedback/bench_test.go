package feedback_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/leadmailer/leadmailer/bounce"
	"github.com/leadmailer/leadmailer/feedback"
	"github.com/leadmailer/leadmailer/store"
)

// BenchmarkIngestMbox records one hard bounce per recipient of a campaign from an mbox, each
// tied by its return path: the whole path from parsing to the ledger and the audit trail.
func BenchmarkIngestMbox(b *testing.B) {
	const n = 2000
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("lead%d@example%d.fi", i, i%97)
	}
	signer := bounce.NewSigner([]byte("key"), "bounces", "bounces.example.com")
	policy := store.DefaultBouncePolicy
	policy.BurstCount, policy.BounceRate = 0, 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		db, c := sentTo(b, emails...)
		var mbox bytes.Buffer
		for i := range n {
			rp := signer.Address(c, int64(i+1))
			fmt.Fprintf(&mbox, "From MAILER-DAEMON Sun Dec  6 10:12:03 2026\nX-Original-To: %s\nFrom: MAILER-DAEMON@mx%d.example.fi\n"+
				"Message-Id: <b%d@mx>\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"+
				"--B\nContent-Type: text/plain\n\nnot delivered\n\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx%d.example.fi\n\n"+
				"Final-Recipient: rfc822; %s\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n\n--B--\n\n",
				rp, i, i, i, emails[i])
		}
		path := filepath.Join(b.TempDir(), "bounces.mbox")
		os.WriteFile(path, mbox.Bytes(), 0o600)
		p := &feedback.Processor{Store: db, ReturnPaths: signer, Policy: policy}
		b.StartTimer()
		sum, err := p.Ingest(context.Background(), path, feedback.IngestOptions{})
		if err != nil || sum.Recorded != n {
			b.Fatalf("%+v, %v", sum, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "bounces/s")
}
