package campaign

import (
	"context"
	"sync"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// maxGroup bounds how many ledger updates one transaction commits.
const maxGroup = 2048

type ledgerItem struct {
	u store.LedgerUpdate
	// done, when set, receives the outcome of the commit that includes u.
	done chan<- error
	// flush items carry no update: done is signalled once everything before them is
	// committed.
	flush bool
}

// ledgerWriter commits ledger updates in groups from one goroutine: whatever has arrived
// while the previous commit ran goes into the next one. Updates commit in the order they
// were added.
type ledgerWriter struct {
	l        *store.Ledger
	in       chan ledgerItem
	stopped  chan struct{}
	progress func(Progress)
	counts   *Progress

	mu      sync.Mutex
	failure error
}

func newLedgerWriter(l *store.Ledger, progress func(Progress), counts *Progress) *ledgerWriter {
	w := &ledgerWriter{l: l, in: make(chan ledgerItem, maxGroup), stopped: make(chan struct{}), progress: progress, counts: counts}
	go w.loop()
	return w
}

// add queues u; done, when not nil, receives the commit's outcome.
func (w *ledgerWriter) add(u store.LedgerUpdate, done chan<- error) {
	w.in <- ledgerItem{u: u, done: done}
}

// flush waits until everything added before it is committed.
func (w *ledgerWriter) flush() error {
	done := make(chan error, 1)
	w.in <- ledgerItem{flush: true, done: done}
	if err := <-done; err != nil {
		return err
	}
	return w.err()
}

func (w *ledgerWriter) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failure
}

func (w *ledgerWriter) close() {
	close(w.in)
	<-w.stopped
}

func (w *ledgerWriter) loop() {
	defer close(w.stopped)
	items := make([]ledgerItem, 0, maxGroup)
	updates := make([]store.LedgerUpdate, 0, maxGroup)
	for first := range w.in {
		items = append(items[:0], first)
	drain:
		for len(items) < maxGroup {
			select {
			case it, ok := <-w.in:
				if !ok {
					break drain
				}
				items = append(items, it)
			default:
				break drain
			}
		}
		updates = updates[:0]
		for _, it := range items {
			if !it.flush {
				updates = append(updates, it.u)
			}
		}
		err := w.err()
		if err == nil && len(updates) > 0 {
			// Once a commit has failed, nothing more is written and nothing more is sent:
			// every waiting worker gets the error.
			if err = w.l.Write(context.Background(), updates); err != nil {
				w.mu.Lock()
				w.failure = err
				w.mu.Unlock()
			}
		}
		if err == nil {
			w.count(updates)
		}
		j := 0
		for _, it := range items {
			ierr := err
			if !it.flush {
				if ierr == nil && updates[j].LeaseLost {
					ierr = errLeaseLost
				}
				j++
			}
			if it.done != nil {
				it.done <- ierr
			}
		}
	}
}

func (w *ledgerWriter) count(updates []store.LedgerUpdate) {
	for i := range updates {
		if updates[i].LeaseLost {
			continue // another process records this row
		}
		switch updates[i].Status {
		case leadmailer.RecipientSent:
			w.counts.Sent++
		case leadmailer.RecipientFailed:
			w.counts.Failed++
		case leadmailer.RecipientSkipped:
			w.counts.Skipped++
		case leadmailer.RecipientQueued:
			w.counts.Retried++
		}
	}
	if w.progress != nil {
		w.progress(*w.counts)
	}
}
