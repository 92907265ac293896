package webhooks_test

import (
	"math"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/webhooks"
)

// TestBackoff checks the schedule of retries: 30 s after the first failure, doubling, at most
// 6 h, each wait at most a tenth longer so that deliveries that failed together spread out.
func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		base    time.Duration
	}{
		{-1, 30 * time.Second}, // no attempt yet counts as the first
		{0, 30 * time.Second},
		{1, 30 * time.Second},
		{2, time.Minute},
		{3, 2 * time.Minute},
		{4, 4 * time.Minute},
		{5, 8 * time.Minute},
		{8, 64 * time.Minute},
		{10, 256 * time.Minute},
		{11, 6 * time.Hour}, // 512 minutes, over the cap
		{12, 6 * time.Hour},
		{1000, 6 * time.Hour},
		{math.MaxInt, 6 * time.Hour},
	} {
		lo, hi := tc.base, tc.base+tc.base/10
		seen := map[time.Duration]bool{}
		var most time.Duration
		for range 1000 {
			d := webhooks.Backoff(tc.attempt)
			if d < lo || d > hi {
				t.Fatalf("Backoff(%d) = %v, want %v to %v", tc.attempt, d, lo, hi)
			}
			seen[d] = true
			most = max(most, d)
		}
		// The jitter is there and spans its tenth: of 1,000 draws, not all alike, and one in
		// the upper half of the range.
		if len(seen) < 2 || most < tc.base+tc.base/20 {
			t.Errorf("Backoff(%d): %d distinct waits, longest %v: want jitter up to %v", tc.attempt, len(seen), most, hi)
		}
	}
}

// TestBackoffGivesADozenAttemptsADay adds up the waits of a delivery that keeps failing:
// about a dozen attempts start within the day after which it is given up, whatever the
// jitter.
func TestBackoffGivesADozenAttemptsADay(t *testing.T) {
	attempts := 1 // the first is sent at once
	for waited := webhooks.Backoff(1); waited <= 24*time.Hour; waited += webhooks.Backoff(attempts) {
		attempts++
	}
	if attempts < 10 || attempts > 14 {
		t.Errorf("%d attempts in a day, want about a dozen", attempts)
	}
}
