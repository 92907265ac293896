package campaign_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/campaign"
)

// maxWAL is the most the write-ahead log may grow to during a send: the ledger's commits are
// small, so the checkpoint every 8 MiB keeps it near that, well inside the 16 MiB
// journal_size_limit (a large import batch may pass it by one commit; a send may not).
const maxWAL = 16 << 20

// TestSendKeepsTheWALSmall sends a campaign and watches the WAL file while it runs: the
// ledger's many small commits once grew it to 64 MiB beside a 9.5 MB database within half a
// second, which filled a small disk.
func TestSendKeepsTheWALSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 20,000 messages")
	}
	const n = 20_000
	f := newFixture(t, n, 8)
	wal := f.db.Path() + "-wal"
	var largest int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if st, err := os.Stat(wal); err == nil && st.Size() > largest {
				largest = st.Size()
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
	res := f.run(t, context.Background(), f.c.ID, campaign.Options{})
	close(stop)
	wg.Wait()
	if res.Sent != n {
		t.Fatalf("sent %d, want %d", res.Sent, n)
	}
	t.Logf("largest WAL during the send: %.1f MiB", float64(largest)/(1<<20))
	if largest > maxWAL {
		t.Errorf("the WAL grew to %d MiB during the send, want at most %d MiB", largest>>20, maxWAL>>20)
	}
}
