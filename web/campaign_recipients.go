package web

import (
	"errors"
	"net/http"

	"github.com/leadmailer/leadmailer"
)

// recipientPage is how many ledger rows the recipients page shows at most.
const recipientPage = 500

var errPageFull = errors.New("page full")

// campaignRecipients lists a campaign's recipients and the outcome for each, filtered by
// status. It shows addresses, so it is recorded in the audit trail.
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
	var rows []*leadmailer.Recipient
	more := false
	err = s.db.FindRecipients(r.Context(), c.ID, status, func(rc *leadmailer.Recipient) error {
		if len(rows) == recipientPage {
			more = true
			return errPageFull
		}
		rows = append(rows, rc)
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		return err
	}
	rep, err := s.db.CampaignReport(r.Context(), c.ID)
	if err != nil {
		return err
	}
	s.render(w, r, rq, http.StatusOK, "campaign_recipients", "Recipients: "+c.Name, struct {
		C          *leadmailer.Campaign
		Report     *leadmailer.CampaignReport
		Status     string
		Statuses   []string
		Recipients []*leadmailer.Recipient
		More       bool
		Limit      int
	}{c, rep, string(status), []string{"queued", "sending", "sent", "failed", "skipped"}, rows, more, recipientPage})
	return nil
}
