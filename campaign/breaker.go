package campaign

import (
	"fmt"
	"sync"
)

// breaker is the run's circuit breaker on permanent failures. A relay that refuses every
// address with "550 5.1.1 user unknown" looks, one reply at a time, like a list of bad
// addresses; taken together, the replies say the relay is broken. The breaker trips on
// MaxPermanentInRow permanent failures with no delivery in between, or on more than
// MaxPermanentPercent % permanent failures among the run's first PermanentWindow outcomes,
// and keeps the failures it blames on the relay so that the run can queue them again.
// It is safe for concurrent use by the workers.
type breaker struct {
	inRow, window, percent int

	mu      sync.Mutex
	row     []int64 // recipient IDs of the permanent failures since the last delivery
	counted int     // outcomes counted towards the window
	early   []int64 // recipient IDs of the permanent failures in the window
	tripped bool
	blamed  []int64 // the failures to queue again once tripped
}

func newBreaker(o Options) *breaker {
	return &breaker{inRow: o.MaxPermanentInRow, window: o.PermanentWindow, percent: o.MaxPermanentPercent}
}

// delivered counts a message the relay accepted.
func (b *breaker) delivered() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.row = b.row[:0]
	if b.counted < b.window {
		b.counted++
	}
}

// refused counts a permanent failure of recipient id and reports whether the breaker has
// tripped with it, and why. Once tripped, every failure that still comes in (the sends in
// flight) is blamed on the relay too.
func (b *breaker) refused(id int64) (tripped bool, why string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tripped {
		b.blamed = append(b.blamed, id)
		return false, ""
	}
	b.row = append(b.row, id)
	if b.counted < b.window {
		b.counted++
		b.early = append(b.early, id)
	}
	switch {
	case len(b.row) >= b.inRow:
		b.blamed = append(b.blamed, b.row...)
		why = fmt.Sprintf("%d in a row", len(b.row))
	case len(b.early)*100 > b.percent*b.window:
		b.blamed = append(b.blamed, b.early...)
		why = fmt.Sprintf("%d of the first %d", len(b.early), b.window)
	default:
		return false, ""
	}
	b.tripped = true
	return true, why
}

// blame returns the failures to queue again: none unless the breaker tripped.
func (b *breaker) blame() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int64(nil), b.blamed...)
}
