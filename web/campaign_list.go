package web

import (
	"net/http"

	"github.com/leadmailer/leadmailer"
)

// campaignRow is a campaign with its ledger counts, for lists.
type campaignRow struct {
	*leadmailer.Campaign
	Report *leadmailer.CampaignReport
}

// campaignList lists every campaign, newest first, with its counts so far.
func (s *Server) campaignList(w http.ResponseWriter, r *http.Request, rq *request) error {
	rows, err := s.campaignRows(r, true)
	if err != nil {
		return err
	}
	s.render(w, r, rq, http.StatusOK, "campaign_list", "Campaigns", struct{ Campaigns []campaignRow }{rows})
	return nil
}

// campaignRows reads the campaigns, newest first, every one or only those running.
func (s *Server) campaignRows(r *http.Request, all bool) ([]campaignRow, error) {
	var states []leadmailer.CampaignState
	if !all {
		states = []leadmailer.CampaignState{leadmailer.CampaignRunning}
	}
	cs, err := s.db.FindCampaigns(r.Context(), states...)
	if err != nil {
		return nil, err
	}
	rows := make([]campaignRow, 0, len(cs))
	for _, c := range cs {
		rep, err := s.campaignReport(r.Context(), c)
		if err != nil {
			return nil, err
		}
		rows = append(rows, campaignRow{c, rep})
	}
	return rows, nil
}
