package web

import (
	"context"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
)

// reportFresh is how long a running campaign's counts are reused. Counting a campaign's
// ledger reads every row (about 0.5 s for a million recipients), and each open campaign page
// polls every two seconds: the cache makes that one count per interval however many pages
// are open.
const reportFresh = 2 * time.Second

// reportCache keeps campaign counts for reportFresh; a change of the campaign's state always
// counts again. A finished campaign's counts are not kept for good: bounces and complaints
// arrive for days after the last message, from another process too ("bounces ingest").
// The clock is the real one: this is a cache, not a rule.
type reportCache struct {
	mu sync.Mutex
	m  map[int64]cachedReport
}

type cachedReport struct {
	rep   *leadmailer.CampaignReport
	state leadmailer.CampaignState // the campaign's state when counted
	at    time.Time
}

// campaignReport returns c's counts, counting again only when the cached ones may be stale.
func (s *Server) campaignReport(ctx context.Context, c *leadmailer.Campaign) (*leadmailer.CampaignReport, error) {
	now := time.Now()
	rc := &s.reports
	rc.mu.Lock()
	if rc.m == nil {
		rc.m = map[int64]cachedReport{}
	}
	cached, ok := rc.m[c.ID]
	rc.mu.Unlock()
	if ok && cached.state == c.State && now.Sub(cached.at) < reportFresh {
		return cached.rep, nil
	}
	rep, err := s.db.CampaignReport(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	rc.mu.Lock()
	rc.m[c.ID] = cachedReport{rep: rep, state: c.State, at: now}
	rc.mu.Unlock()
	return rep, nil
}
