package web

import (
	"net/http"
	"strconv"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// fieldOrigin is one of a lead's current values and the import that supplied it.
type fieldOrigin struct {
	Field string
	Value string
	Obs   *leadmailer.Observation // the latest observation of the supplying run with this field
}

// leadShow shows one lead: each current value with the run, source, file and row that
// supplied it, every observation as it was received, and every mail sent to it.
func (s *Server) leadShow(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return leadmailer.Errorf(leadmailer.ENOTFOUND, "no lead %q", r.PathValue("id"))
	}
	lead, err := s.db.FindLeadByID(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.audit(r, rq, leadmailer.AuditLeadView, leadTarget(lead.ID), ""); err != nil {
		return err
	}
	obs, err := s.db.FindObservations(r.Context(), lead.ID)
	if err != nil {
		return err
	}
	var fields []fieldOrigin
	for _, f := range leadmailer.AllFields() {
		fo := fieldOrigin{Field: f.String(), Value: lead.Value(f)}
		for i := range obs {
			if obs[i].RunID == lead.FieldRuns[f] && obs[i].Supplied.Has(f) {
				fo.Obs = &obs[i]
			}
		}
		fields = append(fields, fo)
	}
	type history struct {
		leadmailer.Observation
		Values []fieldOrigin
	}
	var hist []history
	for i := len(obs) - 1; i >= 0; i-- { // newest first
		h := history{Observation: obs[i]}
		for _, f := range obs[i].Supplied.Fields() {
			h.Values = append(h.Values, fieldOrigin{Field: f.String(), Value: obs[i].Received[f.String()]})
		}
		hist = append(hist, h)
	}
	sends, err := s.db.FindLeadSends(r.Context(), lead.ID)
	if err != nil {
		return err
	}
	s.renderSentSubjects(r.Context(), lead, sends)
	undeliverable, why, err := s.db.IsUndeliverable(r.Context(), lead.ID)
	if err != nil {
		return err
	}
	s.render(w, r, rq, http.StatusOK, "lead_show", lead.Email, struct {
		Lead    *leadmailer.Lead
		Fields  []fieldOrigin
		History []history
		Sends   []store.LeadSend
		// Undeliverable is the reason of the lead's undeliverable mark, "" without one.
		Undeliverable string
	}{lead, fields, hist, sends, undeliverableReason(undeliverable, why)})
	return nil
}
