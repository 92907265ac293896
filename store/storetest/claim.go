package storetest

import (
	"sync"
	"testing"
)

// ClaimEachOnce runs workers goroutines at once, each calling claim with its number until
// claim returns no IDs, and fails t unless want distinct IDs were claimed in all and each
// of them once: what a queue that several processes take rows from must guarantee. what
// names the rows in the failures ("row", "delivery").
func ClaimEachOnce(t testing.TB, workers, want int, what string, claim func(worker int) ([]int64, error)) {
	t.Helper()
	var mu sync.Mutex
	taken := map[int64]int{}
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for {
				ids, err := claim(i)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ids) == 0 {
					return
				}
				mu.Lock()
				for _, id := range ids {
					taken[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(taken) != want {
		t.Errorf("%d %ss claimed, want all %d", len(taken), what, want)
	}
	for id, n := range taken {
		if n != 1 {
			t.Errorf("%s %d claimed %d times", what, id, n)
		}
	}
}
