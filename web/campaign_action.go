package web

import (
	"net/http"
	"time"

	"github.com/leadmailer/leadmailer"
)

// campaignSchedule sets a draft or paused campaign to start at the time given (UTC).
func (s *Server) campaignSchedule(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	at, err := parseFormTime(r.PostFormValue("at"))
	if err != nil {
		return err
	}
	if _, err := s.db.ScheduleCampaign(r.Context(), c.ID, at); err != nil {
		return err
	}
	if err := s.audit(r, rq, auditCampaignSchedule, campaignTarget(c.ID), "at "+at.Format(time.RFC3339)); err != nil {
		return err
	}
	http.Redirect(w, r, campaignPath(c.ID), http.StatusSeeOther)
	return nil
}

// parseFormTime reads a datetime-local field, in UTC.
func parseFormTime(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, leadmailer.Errorf(leadmailer.EINVALID, "Start at: %q is not a time; pick a date and time (UTC)", v)
}

// campaignSend starts a campaign now: "leadmailer serve" begins sending within moments.
func (s *Server) campaignSend(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	if _, err := s.db.ScheduleCampaign(r.Context(), c.ID, s.opts.Now()); err != nil {
		return err
	}
	if err := s.audit(r, rq, auditCampaignSend, campaignTarget(c.ID), "now"); err != nil {
		return err
	}
	s.wakeCampaigns()
	http.Redirect(w, r, campaignPath(c.ID), http.StatusSeeOther)
	return nil
}

func (s *Server) wakeCampaigns() {
	if s.opts.WakeCampaigns != nil {
		s.opts.WakeCampaigns()
	}
}

// campaignPause pauses a running or scheduled campaign; a process sending it stops within
// a second, after the messages in flight.
func (s *Server) campaignPause(w http.ResponseWriter, r *http.Request, rq *request) error {
	return s.campaignMove(w, r, rq, leadmailer.CampaignPaused, auditCampaignPause, "paused by user:"+rq.user.Name)
}

// campaignCancel cancels a campaign: its queued recipients are skipped.
func (s *Server) campaignCancel(w http.ResponseWriter, r *http.Request, rq *request) error {
	return s.campaignMove(w, r, rq, leadmailer.CampaignCancelled, auditCampaignCancel, "cancelled by user:"+rq.user.Name)
}

func (s *Server) campaignMove(w http.ResponseWriter, r *http.Request, rq *request, to leadmailer.CampaignState, action, reason string) error {
	c, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	if _, err := s.db.SetCampaignState(r.Context(), c.ID, to, reason); err != nil {
		return err
	}
	if err := s.audit(r, rq, action, campaignTarget(c.ID), ""); err != nil {
		return err
	}
	http.Redirect(w, r, campaignPath(c.ID), http.StatusSeeOther)
	return nil
}

// campaignResume continues a paused campaign: one that had started goes on with its ledger as
// it is; one paused before it started is scheduled again (at once when its time has passed).
func (s *Server) campaignResume(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	if c.State != leadmailer.CampaignPaused {
		return leadmailer.Errorf(leadmailer.ECONFLICT, "campaign %d is %s, not paused", c.ID, c.State)
	}
	switch {
	case c.StartedAt != nil:
		// The campaign scheduler resumes a running campaign that no process sends.
		_, err = s.db.SetCampaignState(r.Context(), c.ID, leadmailer.CampaignRunning, "")
	case c.Cron != "":
		_, err = s.db.SetCampaignState(r.Context(), c.ID, leadmailer.CampaignScheduled, "")
	default:
		at := s.opts.Now()
		if c.SendAt != nil && c.SendAt.After(at) {
			at = *c.SendAt
		}
		_, err = s.db.ScheduleCampaign(r.Context(), c.ID, at)
	}
	if err != nil {
		return err
	}
	if err := s.audit(r, rq, auditCampaignResume, campaignTarget(c.ID), ""); err != nil {
		return err
	}
	s.wakeCampaigns()
	http.Redirect(w, r, campaignPath(c.ID), http.StatusSeeOther)
	return nil
}
