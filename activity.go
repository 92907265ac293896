package leadmailer

import "time"

// Activity is what the ledger and the import runs have counted so far, read for monitoring:
// counters that only grow while the rows they count exist, and the depth of the send queue.
type Activity struct {
	Campaigns  []CampaignActivity
	Imports    []ImportActivity
	SourceRuns []SourceRunActivity
	Leads      map[LeadState]int64
}

// CampaignActivity counts one campaign's ledger rows.
type CampaignActivity struct {
	ID    int64
	Name  string
	State CampaignState
	// Queued counts the rows still to send, Sending those handed to the relay whose outcome
	// is not recorded yet.
	Queued, Sending                      int64
	Sent, Failed, Skipped                int64
	BouncedHard, BouncedSoft, Complained int64
	PossiblyDelivered                    int64
}

// ImportActivity sums the import runs of one source (for public sources) or one kind.
type ImportActivity struct {
	Kind     SourceKind
	Source   string
	Runs     int64
	RowsRead int64
	Stored   int64 // inserted or updated
	Rejected int64
}

// SourceRunActivity sums the finished runs of one configured source with one outcome.
type SourceRunActivity struct {
	Source string
	Status RunStatus
	Runs   int64
	// Seconds is the total duration of those runs; Last is when the newest finished and
	// LastSeconds how long it took.
	Seconds     float64
	Last        time.Time
	LastSeconds float64
}
