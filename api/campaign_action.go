package api

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/leadmailer/leadmailer"
)

// scheduleInput is the body of POST /api/v1/campaigns/{id}/schedule.
type scheduleInput struct {
	At *time.Time `json:"at"`
}

// campaignSchedule sets a draft or paused campaign to start at a time.
func (s *Server) campaignSchedule(w http.ResponseWriter, r *http.Request, c *call) error {
	camp, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	var in scheduleInput
	if err := decodeJSON(r.Body, &in, ""); err != nil {
		return err
	}
	if in.At == nil {
		return fieldErrorf("at", "give the time to start at in \"at\", such as \"2026-12-07T09:00:00+02:00\"")
	}
	at := in.At.UTC()
	if camp, err = s.db.ScheduleCampaign(r.Context(), camp.ID, at); err != nil {
		return err
	}
	if err := s.audit(r, c, leadmailer.AuditCampaignSchedule, campaignTarget(camp.ID), "at "+at.Format(time.RFC3339)); err != nil {
		return err
	}
	s.wakeCampaigns()
	writeJSON(w, http.StatusOK, camp)
	return nil
}

// campaignSend starts a campaign now: "leadmailer serve" begins sending within moments.
func (s *Server) campaignSend(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := noBody(r); err != nil {
		return err
	}
	camp, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	if camp, err = s.db.ScheduleCampaign(r.Context(), camp.ID, s.opts.Now()); err != nil {
		return err
	}
	if err := s.audit(r, c, leadmailer.AuditCampaignSend, campaignTarget(camp.ID), "now"); err != nil {
		return err
	}
	s.wakeCampaigns()
	writeJSON(w, http.StatusOK, camp)
	return nil
}

// campaignPause pauses a running or scheduled campaign; a process sending it stops within a
// second, after the messages in flight.
func (s *Server) campaignPause(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.campaignMove(w, r, c, leadmailer.CampaignPaused, leadmailer.AuditCampaignPause, "paused by "+c.token.Actor())
}

// campaignCancel cancels a campaign: its queued recipients are skipped.
func (s *Server) campaignCancel(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.campaignMove(w, r, c, leadmailer.CampaignCancelled, leadmailer.AuditCampaignCancel, "cancelled by "+c.token.Actor())
}

func (s *Server) campaignMove(w http.ResponseWriter, r *http.Request, c *call, to leadmailer.CampaignState, action, reason string) error {
	if err := noBody(r); err != nil {
		return err
	}
	camp, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	if camp, err = s.db.SetCampaignState(r.Context(), camp.ID, to, reason); err != nil {
		return err
	}
	if err := s.audit(r, c, action, campaignTarget(camp.ID), ""); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, camp)
	return nil
}

// campaignResume continues a paused campaign as the web app does: one that had started goes
// on with its ledger as it is; one paused before it started is scheduled again, at once when
// its time has passed.
func (s *Server) campaignResume(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := noBody(r); err != nil {
		return err
	}
	camp, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	if camp.State != leadmailer.CampaignPaused {
		return leadmailer.Errorf(leadmailer.ECONFLICT, "campaign %d is %s, not paused", camp.ID, camp.State)
	}
	switch {
	case camp.StartedAt != nil:
		// The campaign scheduler resumes a running campaign that no process sends.
		camp, err = s.db.SetCampaignState(r.Context(), camp.ID, leadmailer.CampaignRunning, "")
	case camp.Cron != "":
		camp, err = s.db.SetCampaignState(r.Context(), camp.ID, leadmailer.CampaignScheduled, "")
	default:
		at := s.opts.Now()
		if camp.SendAt != nil && camp.SendAt.After(at) {
			at = *camp.SendAt
		}
		camp, err = s.db.ScheduleCampaign(r.Context(), camp.ID, at)
	}
	if err != nil {
		return err
	}
	if err := s.audit(r, c, leadmailer.AuditCampaignResume, campaignTarget(camp.ID), ""); err != nil {
		return err
	}
	s.wakeCampaigns()
	writeJSON(w, http.StatusOK, camp)
	return nil
}

// noBody refuses a body on a call that takes none, rather than ignoring what the client
// meant by it. An empty JSON object is allowed: some clients always send one.
func noBody(r *http.Request) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if b = bytes.TrimSpace(b); len(b) == 0 || string(b) == "{}" {
		return nil
	}
	return fieldErrorf("", "this call takes no body")
}
