package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/leadmailer/leadmailer"
)

// LeadExport is everything held about one address, for an access request (Art. 15): every
// field with the source that supplied it, every source with its dates and what it supplied,
// the whole provenance, website queries, consents, campaigns sent, the rows imports rejected
// that carried the address, and suppression state. For an address with no lead, only the
// rejected rows and the suppression state can be non-empty.
type LeadExport struct {
	ExportedAt     time.Time                `json:"exported_at"`
	Lead           *leadmailer.Lead         `json:"lead"`
	InactiveSince  *time.Time               `json:"inactive_since,omitempty"`
	LastActivityAt *time.Time               `json:"last_activity_at,omitempty"`
	Fields         []FieldOrigin            `json:"fields"`
	Sources        []SourceSummary          `json:"sources"`
	Provenance     []leadmailer.Observation `json:"provenance"`
	WebsiteQueries []WebsiteQuery           `json:"website_queries"`
	Consents       []Consent                `json:"consents"`
	Campaigns      []CampaignSent           `json:"campaigns"`
	Suppressions   []Suppression            `json:"suppressions"`
	// Rejects are the rows imports rejected whose address is this one, as RejectEmailKey
	// reads it, oldest first.
	Rejects []ExportedReject `json:"rejects"`
}

// ExportedReject is one row an import rejected, with the run and source it came from.
type ExportedReject struct {
	RunID  int64  `json:"run_id"`
	Source string `json:"source"`
	leadmailer.RejectedRow
	CreatedAt time.Time `json:"created_at"`
}

// FieldOrigin is one of a lead's current values with the import run that supplied it.
type FieldOrigin struct {
	Field      string     `json:"field"`
	Value      string     `json:"value"`
	RunID      int64      `json:"run_id,omitempty"`
	Source     string     `json:"source,omitempty"`
	Kind       string     `json:"kind,omitempty"`
	SuppliedAt *time.Time `json:"supplied_at,omitempty"`
}

// SourceSummary is one source a lead's data came from: when it first and last supplied
// something and which fields.
type SourceSummary struct {
	Source       string    `json:"source"`
	Kind         string    `json:"kind"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	Observations int       `json:"observations"`
	Fields       []string  `json:"fields_supplied"`
}

// Consent is a consent the lead gave.
type Consent struct {
	Purpose     string     `json:"purpose"`
	TextVersion string     `json:"text_version"`
	GivenAt     time.Time  `json:"given_at"`
	WithdrawnAt *time.Time `json:"withdrawn_at,omitempty"`
	// IP and ConfirmationVersion are where a consent confirmed by mail came from and the
	// version of the confirmation's wording; empty for consents recorded otherwise.
	IP                  string `json:"ip,omitempty"`
	ConfirmationVersion string `json:"confirmation_version,omitempty"`
}

// CampaignSent is one campaign whose audience included the lead: its row in the send ledger.
// Status sent means the message was delivered to the mail server at SentAt; for the other
// statuses SentAt is when the row reached its status (failed, skipped with Reason) or was
// queued (queued, sending).
type CampaignSent struct {
	CampaignID int64     `json:"campaign_id"`
	Name       string    `json:"name"`
	SentAt     time.Time `json:"sent_at"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Attempts   int       `json:"attempts"`
	MessageID  string    `json:"message_id,omitempty"`
}

// ExportLead gathers everything held about an address. It reads in one transaction, so the
// sections agree with each other even while an import runs.
func (db *DB) ExportLead(ctx context.Context, email string) (*LeadExport, error) {
	norm, err := leadmailer.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	x := &LeadExport{ExportedAt: db.now().UTC(), Fields: []FieldOrigin{}, Sources: []SourceSummary{},
		Provenance: []leadmailer.Observation{}, WebsiteQueries: []WebsiteQuery{}, Consents: []Consent{},
		Campaigns: []CampaignSent{}}
	lead, err := db.FindLeadByEmail(ctx, norm)
	if err != nil && leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
		return nil, err
	}
	businessID := ""
	if lead != nil {
		x.Lead, businessID = lead, lead.BusinessID
		if err := db.exportLead(ctx, x); err != nil {
			return nil, fmt.Errorf("export lead %d: %w", lead.ID, err)
		}
	}
	if x.Suppressions, err = db.CheckSuppression(ctx, norm, businessID); err != nil {
		return nil, err
	}
	if x.Suppressions == nil {
		x.Suppressions = []Suppression{}
	}
	if x.Rejects, err = db.exportRejects(ctx, norm); err != nil {
		return nil, err
	}
	return x, nil
}

// exportRejects lists the rows imports rejected with the address norm, found by email_hash.
func (db *DB) exportRejects(ctx context.Context, norm string) ([]ExportedReject, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT j.run_id, r.source, j.row_no, j.reason, j.email, j.name,
			j.company, j.country, j.business_id, j.job_title, j.website, j.phone, j.city, j.created_at
		FROM import_rejects j JOIN import_runs r ON r.id = j.run_id
		WHERE j.email_hash = ? ORDER BY j.created_at, j.id`, db.rejectEmailHash(norm))
	if err != nil {
		return nil, fmt.Errorf("export rejected rows: %w", err)
	}
	defer rows.Close()
	out := []ExportedReject{}
	for rows.Next() {
		var j ExportedReject
		var at string
		if err := rows.Scan(&j.RunID, &j.Source, &j.Row, &j.Reason, &j.Email, &j.Name, &j.Company, &j.Country,
			&j.BusinessID, &j.JobTitle, &j.Website, &j.Phone, &j.City, &at); err != nil {
			return nil, fmt.Errorf("export rejected rows: %w", err)
		}
		if j.CreatedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export rejected rows: %w", err)
	}
	return out, nil
}

func (db *DB) exportLead(ctx context.Context, x *LeadExport) error {
	l := x.Lead
	var since, activity sql.NullString
	if err := db.sql.QueryRowContext(ctx, `SELECT inactive_since, activity_at FROM leads WHERE id = ?`, l.ID).
		Scan(&since, &activity); err != nil {
		return err
	}
	var err error
	if x.InactiveSince, err = nullTime(since); err != nil {
		return err
	}
	if x.LastActivityAt, err = nullTime(activity); err != nil {
		return err
	}
	if x.Provenance, err = db.FindObservations(ctx, l.ID); err != nil {
		return err
	}
	if x.Provenance == nil {
		x.Provenance = []leadmailer.Observation{}
	}
	byRun := map[int64]*leadmailer.Observation{}
	bySource := map[string]*SourceSummary{}
	var order []string
	for i := range x.Provenance {
		o := &x.Provenance[i]
		if _, ok := byRun[o.RunID]; !ok {
			byRun[o.RunID] = o
		}
		s := bySource[o.Source]
		if s == nil {
			s = &SourceSummary{Source: o.Source, Kind: string(o.Kind), FirstSeen: o.ObservedAt}
			bySource[o.Source] = s
			order = append(order, o.Source)
		}
		s.LastSeen, s.Observations = o.ObservedAt, s.Observations+1
		for _, f := range o.Supplied.Names() {
			if !slices.Contains(s.Fields, f) {
				s.Fields = append(s.Fields, f)
			}
		}
	}
	for _, name := range order {
		x.Sources = append(x.Sources, *bySource[name])
	}
	for _, f := range leadmailer.AllFields() {
		fo := FieldOrigin{Field: f.String(), Value: l.Value(f), RunID: l.FieldRuns[f]}
		if o := byRun[fo.RunID]; o != nil {
			at := o.ObservedAt
			fo.Source, fo.Kind, fo.SuppliedAt = o.Source, string(o.Kind), &at
		}
		x.Fields = append(x.Fields, fo)
	}
	if x.WebsiteQueries, err = db.FindWebsiteQueries(ctx, l.ID); err != nil {
		return err
	}
	if x.WebsiteQueries == nil {
		x.WebsiteQueries = []WebsiteQuery{}
	}
	if err := db.exportConsents(ctx, x); err != nil {
		return err
	}
	sent, err := db.findCampaignsSent(ctx, l.ID)
	if err != nil {
		return err
	}
	x.Campaigns = append(x.Campaigns, sent...)
	return nil
}

func (db *DB) exportConsents(ctx context.Context, x *LeadExport) error {
	rows, err := db.sql.QueryContext(ctx, `SELECT purpose, text_version, given_at, withdrawn_at,
			coalesce(ip, ''), coalesce(confirmation_version, '')
		FROM consents WHERE lead_id = ? ORDER BY given_at, id`, x.Lead.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c Consent
		var given string
		var withdrawn sql.NullString
		if err := rows.Scan(&c.Purpose, &c.TextVersion, &given, &withdrawn, &c.IP, &c.ConfirmationVersion); err != nil {
			return err
		}
		if c.GivenAt, err = parseTime(given); err != nil {
			return err
		}
		if c.WithdrawnAt, err = nullTime(withdrawn); err != nil {
			return err
		}
		x.Consents = append(x.Consents, c)
	}
	return rows.Err()
}

// findCampaignsSent lists the lead's rows in the send ledger, one per campaign, oldest first.
func (db *DB) findCampaignsSent(ctx context.Context, leadID int64) ([]CampaignSent, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT c.id, c.name, coalesce(r.done_at, r.queued_at), r.status,
			r.reason, r.attempts, r.message_id
		FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
		WHERE r.lead_id = ? ORDER BY r.queued_at, r.id`, leadID)
	if err != nil {
		return nil, fmt.Errorf("campaigns sent: %w", err)
	}
	defer rows.Close()
	var sent []CampaignSent
	for rows.Next() {
		var c CampaignSent
		var at string
		if err := rows.Scan(&c.CampaignID, &c.Name, &at, &c.Status, &c.Reason, &c.Attempts, &c.MessageID); err != nil {
			return nil, fmt.Errorf("campaigns sent: %w", err)
		}
		if c.SentAt, err = parseTime(at); err != nil {
			return nil, err
		}
		sent = append(sent, c)
	}
	return sent, rows.Err()
}
