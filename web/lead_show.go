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
	found, err := s.db.FindBounces(r.Context(), lead.ID)
	if err != nil {
		return err
	}
	// A bounce is recorded only against a message the campaign sent, so its campaign is
	// among the sends; one whose row retention has since deleted shows by number.
	names := map[int64]string{}
	for _, sd := range sends {
		names[sd.CampaignID] = sd.CampaignName
	}
	bounces := make([]leadBounce, len(found))
	for i, b := range found {
		bounces[i] = leadBounce{Bounce: b, CampaignName: names[b.CampaignID], Done: bounceActionWords[b.Action]}
		if bounces[i].CampaignName == "" {
			bounces[i].CampaignName = "campaign " + strconv.FormatInt(b.CampaignID, 10)
		}
		if bounces[i].Done == "" {
			bounces[i].Done = b.Action
		}
	}
	s.render(w, r, rq, http.StatusOK, "lead_show", lead.Email, struct {
		Lead    *leadmailer.Lead
		Fields  []fieldOrigin
		History []history
		Sends   []store.LeadSend
		// Undeliverable is the reason of the lead's undeliverable mark, "" without one.
		Undeliverable string
		Bounces       []leadBounce
	}{lead, fields, hist, sends, undeliverableReason(undeliverable, why), bounces})
	return nil
}

// leadBounce is one bounce or complaint as the lead page lists it.
type leadBounce struct {
	store.Bounce
	CampaignName string
	// Done says in words what recording the report did.
	Done string
}

// bounceActionWords says what each recorded action did to the lead.
var bounceActionWords = map[string]string{
	store.BounceMarked:     "marked undeliverable",
	store.BounceCounted:    "counted",
	store.BounceSuppressed: "address suppressed",
	store.BounceHeld:       "held: part of a burst from one reporter, not marked",
}
