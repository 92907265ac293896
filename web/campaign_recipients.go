package web

import (
	"net/http"
	"strconv"

	"github.com/leadmailer/leadmailer"
)

// recipientPage is how many ledger rows one recipients page shows.
const recipientPage = 200

// campaignRecipients lists a campaign's recipients and the outcome for each, filtered by
// status, a page at a time. It shows addresses, so it is recorded in the audit trail.
func (s *Server) campaignRecipients(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	status := leadmailer.RecipientStatus(r.URL.Query().Get("status"))
	switch status {
	case "", leadmailer.RecipientQueued, leadmailer.RecipientSending, leadmailer.RecipientSent,
		leadmailer.RecipientFailed, leadmailer.RecipientSkipped:
	default:
		return leadmailer.Errorf(leadmailer.EINVALID, "status %q: use queued, sending, sent, failed or skipped", status)
	}
	if err := s.audit(r, rq, auditCampaignRecipients, campaignTarget(c.ID), "status "+string(status)); err != nil {
		return err
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	rows, err := s.db.FindRecipientsPage(r.Context(), c.ID, status, after, recipientPage+1)
	if err != nil {
		return err
	}
	var next string
	if len(rows) > recipientPage {
		rows = rows[:recipientPage]
		next = strconv.FormatInt(rows[len(rows)-1].ID, 10)
	}
	rep, err := s.campaignReport(r.Context(), c)
	if err != nil {
		return err
	}
	s.render(w, r, rq, http.StatusOK, "campaign_recipients", "Recipients: "+c.Name, struct {
		C          *leadmailer.Campaign
		Report     *leadmailer.CampaignReport
		Status     string
		Recipients []*leadmailer.Recipient
		Next       string // the after= of the next page; empty on the last
		Paged      bool
	}{c, rep, string(status), rows, next, after > 0})
	return nil
}
