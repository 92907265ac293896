package api

import (
	"net/http"
	"strconv"

	"github.com/leadmailer/leadmailer"
)

// campaignReportAnswer is the answer of GET /api/v1/campaigns/{id}/report.
type campaignReportAnswer struct {
	Campaign *leadmailer.Campaign       `json:"campaign"`
	Report   *leadmailer.CampaignReport `json:"report"`
}

// campaignReport answers a campaign's counts: its ledger by status, skips by reason, and
// what was reported after delivery. It names no one.
func (s *Server) campaignReport(w http.ResponseWriter, r *http.Request, c *call) error {
	camp, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	rep, err := s.db.CampaignReport(r.Context(), camp.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, campaignReportAnswer{Campaign: camp, Report: rep})
	return nil
}

// Page sizes of GET /api/v1/campaigns/{id}/recipients.
const (
	defaultRecipientLimit = 200
	maxRecipientLimit     = 1000
)

// recipientPage is the answer of GET /api/v1/campaigns/{id}/recipients.
type recipientPage struct {
	Recipients []*leadmailer.Recipient `json:"recipients"`
	// NextCursor, given as ?after=, fetches the next page; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// campaignRecipients lists a campaign's ledger rows with the outcome for each, filtered by
// status, in keyset pages as the web app's list. It shows addresses, so it is recorded.
func (s *Server) campaignRecipients(w http.ResponseWriter, r *http.Request, c *call) error {
	camp, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	status := leadmailer.RecipientStatus(q.Get("status"))
	switch status {
	case "", leadmailer.RecipientQueued, leadmailer.RecipientSending, leadmailer.RecipientSent,
		leadmailer.RecipientFailed, leadmailer.RecipientSkipped:
	default:
		return fieldErrorf("status", "status %q: use queued, sending, sent, failed or skipped", status)
	}
	var after int64
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return fieldErrorf("after", "after %q: give the next_cursor of the previous page", v)
		}
	}
	limit := defaultRecipientLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRecipientLimit {
			return fieldErrorf("limit", "limit %q: give a number from 1 to %d", v, maxRecipientLimit)
		}
		limit = n
	}
	if err := s.audit(r, c, leadmailer.AuditCampaignRecipients, campaignTarget(camp.ID), "status "+string(status)); err != nil {
		return err
	}
	rows, err := s.db.FindRecipientsPage(r.Context(), camp.ID, status, after, limit+1)
	if err != nil {
		return err
	}
	page := recipientPage{Recipients: rows}
	if page.Recipients == nil {
		page.Recipients = []*leadmailer.Recipient{}
	}
	if len(rows) > limit {
		page.Recipients = rows[:limit]
		page.NextCursor = strconv.FormatInt(rows[limit-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
