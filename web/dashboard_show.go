package web

import (
	"net/http"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// dashboardShow shows lead counts by state and source, the running campaigns, the scheduled
// sources with their latest run, and the latest import runs. It shows
// no personal data, so it leaves no audit entry.
func (s *Server) dashboardShow(w http.ResponseWriter, r *http.Request, rq *request) error {
	states, err := s.db.CountLeadsByState(r.Context())
	if err != nil {
		return err
	}
	sources, err := s.db.FindSourceStats(r.Context())
	if err != nil {
		return err
	}
	runs, err := s.db.FindImportRuns(r.Context(), "", 10)
	if err != nil {
		return err
	}
	s.effectiveStatus(runs)
	campaigns, err := s.campaignRows(r, false)
	if err != nil {
		return err
	}
	// Only sources that run on a schedule: the section says what runs by itself, and a
	// manual source is listed on the sources page.
	var scheduled []sourceRow
	for _, in := range s.opts.Sources {
		if in.Schedule == "" {
			continue
		}
		row, _, err := s.sourceRow(r, in, 1)
		if err != nil {
			return err
		}
		scheduled = append(scheduled, row)
	}
	s.render(w, r, rq, http.StatusOK, "dashboard", "Dashboard", struct {
		Total, Active, Inactive int64
		Sources                 []store.SourceStats
		Runs                    []*leadmailer.ImportRun
		Campaigns               []campaignRow
		Scheduled               []sourceRow
	}{states[leadmailer.LeadActive] + states[leadmailer.LeadInactive], states[leadmailer.LeadActive],
		states[leadmailer.LeadInactive], sources, runs, campaigns, scheduled})
	return nil
}

// effectiveStatus reports runs whose process died as interrupted.
func (s *Server) effectiveStatus(runs []*leadmailer.ImportRun) {
	now := s.opts.Now()
	for _, r := range runs {
		r.Status = r.EffectiveStatus(now)
	}
}
