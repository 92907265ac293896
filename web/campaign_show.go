package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
)

// findCampaign reads the campaign named by the path's {id}.
func (s *Server) findCampaign(r *http.Request) (*leadmailer.Campaign, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no campaign %q", r.PathValue("id"))
	}
	return s.db.FindCampaign(r.Context(), id)
}

// campaignActions says which buttons a campaign in its state offers.
type campaignActions struct {
	Schedule, SendNow, Pause, Resume, Cancel bool
}

func actionsFor(c *leadmailer.Campaign) campaignActions {
	st := c.State
	return campaignActions{
		Schedule: c.Cron == "" && (st == leadmailer.CampaignDraft || st == leadmailer.CampaignScheduled || st == leadmailer.CampaignPaused),
		SendNow:  c.Cron == "" && (st == leadmailer.CampaignDraft || st == leadmailer.CampaignScheduled),
		Pause:    st == leadmailer.CampaignRunning || st == leadmailer.CampaignScheduled,
		Resume:   st == leadmailer.CampaignPaused,
		Cancel:   leadmailer.CanTransition(st, leadmailer.CampaignCancelled),
	}
}

// campaignShow shows a campaign: its state and counts (updated live while it sends), its
// templates and audience, and the actions its state allows.
func (s *Server) campaignShow(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	return s.showCampaign(w, r, rq, c, "", "")
}

// showCampaign renders the campaign page with a notice or a problem from the action just done.
func (s *Server) showCampaign(w http.ResponseWriter, r *http.Request, rq *request, c *leadmailer.Campaign, notice, problem string) error {
	rep, err := s.campaignReport(r.Context(), c)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	s.render(w, r, rq, status, "campaign_show", c.Name, struct {
		C       *leadmailer.Campaign
		Report  *leadmailer.CampaignReport
		Actions campaignActions
		Live    bool
		CanMail bool
		Notice  string
		Problem string
		Now     string
		Percent int64
		// SelfPause is why the campaign paused itself (bounce or complaint rate, a burst of
		// bounces or refusals at the relay), "" when it is not paused or a person paused it.
		SelfPause string
		Outcomes  []outcomeRow
	}{c, rep, actionsFor(c), c.State == leadmailer.CampaignRunning || c.State == leadmailer.CampaignScheduled,
		s.opts.Mail != nil, notice, problem, s.opts.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04"), percentDone(rep),
		selfPause(c), outcomeRows(rep)})
	return nil
}

// selfPause returns the reason of a pause the campaign made itself. A person's pause reads
// "paused by user:NAME" (web) or "paused by ACTOR" (command line); anything else was the
// sender's or the bounce processing's own decision, which the page must not hide in small print.
func selfPause(c *leadmailer.Campaign) string {
	if c.State != leadmailer.CampaignPaused || strings.HasPrefix(c.Reason, "paused by ") {
		return ""
	}
	return c.Reason
}

// outcomeRow is one line of what became of the sent messages after the relay took them.
type outcomeRow struct {
	ID, What string
	N        int64
	// Share is the count as a percentage of the sent messages, "" where a rate means nothing.
	Share string
	Note  string
}

// outcomeRows lists delivered, bounced and complained counts with their rates of the sent
// messages, as mailbox providers judge a sender by them; nil before anything was sent.
func outcomeRows(rep *leadmailer.CampaignReport) []outcomeRow {
	if rep.Sent == 0 && rep.PossiblyDelivered == 0 {
		return nil
	}
	share := func(n int64) string {
		if rep.Sent == 0 {
			return ""
		}
		return fmt.Sprintf("%.2f %%", float64(n)*100/float64(rep.Sent))
	}
	rows := []outcomeRow{
		{ID: "delivered", What: "Delivered", N: rep.Delivered, Share: share(rep.Delivered),
			Note: "sent, and no hard bounce reported"},
		{ID: "bounced-hard", What: "Bounced hard", N: rep.BouncedHard, Share: share(rep.BouncedHard),
			Note: "the address does not take mail; the lead is marked undeliverable"},
		{ID: "bounced-soft", What: "Bounced soft", N: rep.BouncedSoft, Share: share(rep.BouncedSoft),
			Note: "a temporary failure; repeated ones mark the lead undeliverable"},
		{ID: "complained", What: "Complained", N: rep.Complained, Share: share(rep.Complained),
			Note: "marked as spam; the address is suppressed"},
	}
	if rep.PossiblyDelivered > 0 {
		rows = append(rows, outcomeRow{ID: "possibly-delivered", What: "Possibly delivered", N: rep.PossiblyDelivered,
			Note: "the relay did not answer the end of the message in time: it may have taken it, so a retry may have delivered it twice"})
	}
	return rows
}

// campaignProgressReport is what static/app.js polls while a campaign runs.
type campaignProgressReport struct {
	State   leadmailer.CampaignState `json:"state"`
	Reason  string                   `json:"reason,omitempty"`
	Done    bool                     `json:"done"`
	Percent int                      `json:"percent"`
	leadmailer.CampaignReport
}

// campaignProgress answers with a campaign's state and counts as JSON.
func (s *Server) campaignProgress(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	rep, err := s.campaignReport(r.Context(), c)
	if err != nil {
		return err
	}
	p := campaignProgressReport{State: c.State, Reason: c.Reason, CampaignReport: *rep,
		Done: c.State != leadmailer.CampaignRunning && c.State != leadmailer.CampaignScheduled}
	p.Percent = int(percentDone(rep))
	w.Header().Set("Content-Type", "application/json")
	return writeJSON(w, p)
}

// percentDone is the share of a campaign's recipients that have an outcome.
func percentDone(rep *leadmailer.CampaignReport) int64 {
	if rep.Total == 0 {
		return 0
	}
	return (rep.Sent + rep.Failed + rep.Skipped) * 100 / rep.Total
}
