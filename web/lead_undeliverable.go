package web

import (
	"fmt"
	"net/http"

	"github.com/leadmailer/leadmailer"
)

// leadDeliverable withdraws a lead's undeliverable mark, for an admin who knows the address
// works (the relay that refused it was broken, the mailbox is back), and shows the lead.
func (s *Server) leadDeliverable(w http.ResponseWriter, r *http.Request, rq *request) error {
	lead, err := s.findLead(r)
	if err != nil {
		return err
	}
	if _, err := s.db.ClearUndeliverable(r.Context(), lead.ID); err != nil {
		return err
	}
	// The mark's reason is not quoted: a relay's reply often names the address, and the
	// trail must not hold addresses.
	if err := s.audit(r, rq, leadmailer.AuditLeadDeliverable, leadTarget(lead.ID), "mark withdrawn"); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/leads/%d", lead.ID), http.StatusSeeOther)
	return nil
}

// undeliverableReason is what the lead page says of a mark: its reason, or a word when the
// mark has none.
func undeliverableReason(marked bool, why string) string {
	switch {
	case !marked:
		return ""
	case why == "":
		return "marked undeliverable"
	}
	return why
}
