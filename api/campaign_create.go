package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
)

// campaignInput is the body of POST /api/v1/campaigns: the fields of "leadmailer campaigns
// create" and of the web app's form.
type campaignInput struct {
	Name         string     `json:"name"`
	Subject      string     `json:"subject"`
	HTML         string     `json:"html"`
	Text         string     `json:"text"`
	BodyLanguage string     `json:"body_language"`
	Countries    []string   `json:"countries"`
	Sources      []string   `json:"sources"`
	Kinds        []string   `json:"kinds"`
	SendAt       *time.Time `json:"send_at"`
	Cron         string     `json:"cron"`
}

// campaignTarget names a campaign in the audit trail, as the web app and the CLI do.
func campaignTarget(id int64) string { return "campaign " + strconv.FormatInt(id, 10) }

// findCampaign returns the campaign named by the path's {id}.
func (s *Server) findCampaign(r *http.Request) (*leadmailer.Campaign, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no campaign %q", r.PathValue("id"))
	}
	return s.db.FindCampaign(r.Context(), id)
}

// campaignCreate stores a new campaign after the checks of the CLI and the web form: its
// fields (leadmailer.Campaign.Validate), its countries, its cron expression, and its
// templates compiled against the configured sender. It is a draft, or scheduled when it has
// send_at or cron.
func (s *Server) campaignCreate(w http.ResponseWriter, r *http.Request, c *call) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	var in campaignInput
	if err := decodeJSON(bytes.NewReader(body), &in, ""); err != nil {
		return err
	}
	camp := &leadmailer.Campaign{Name: strings.TrimSpace(in.Name), Subject: in.Subject, HTML: in.HTML, Text: in.Text,
		BodyLanguage: strings.TrimSpace(in.BodyLanguage), Sources: in.Sources, Cron: strings.TrimSpace(in.Cron),
		State: leadmailer.CampaignDraft, CreatedBy: c.token.Actor()}
	for i, cc := range in.Countries {
		code, ok := leadmailer.NormalizeCountry(cc)
		if !ok {
			return fieldErrorf(fmt.Sprintf("countries[%d]", i), "%q is not a country; use ISO codes such as FI, SE", cc)
		}
		camp.Countries = append(camp.Countries, code)
	}
	for _, k := range in.Kinds {
		camp.Kinds = append(camp.Kinds, leadmailer.SourceKind(k))
	}
	if in.SendAt != nil {
		at := in.SendAt.UTC()
		camp.SendAt, camp.State = &at, leadmailer.CampaignScheduled
	}
	if field, err := camp.Validate(); err != nil {
		return fieldErrorf(field, "%s", err.Error())
	}
	if camp.Cron != "" {
		if _, err := config.ParseSchedule(camp.Cron, ""); err != nil {
			return fieldErrorf("cron", "cron %q: %v", camp.Cron, err)
		}
		camp.State = leadmailer.CampaignScheduled
	}
	if s.opts.Mail != nil {
		if err := s.opts.Mail.CheckTemplates(camp); err != nil {
			// An invalid template's error names its part (subject, html or text), line and
			// column in the message.
			return err
		}
	}
	return s.idempotent(w, r, c, requestHash(r, body), func() (int, []byte, error) {
		if err := s.db.CreateCampaign(r.Context(), camp); err != nil {
			return 0, nil, err
		}
		if err := s.audit(r, c, leadmailer.AuditCampaignCreate, campaignTarget(camp.ID), fmt.Sprintf("%q, %s", camp.Name, camp.State)); err != nil {
			return 0, nil, err
		}
		answer, err := json.Marshal(camp)
		if err != nil {
			return 0, nil, err
		}
		if camp.SendAt != nil {
			s.wakeCampaigns()
		}
		return http.StatusCreated, append(answer, '\n'), nil
	})
}

// campaignShow answers one campaign.
func (s *Server) campaignShow(w http.ResponseWriter, r *http.Request, c *call) error {
	camp, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, camp)
	return nil
}

func (s *Server) wakeCampaigns() {
	if s.opts.WakeCampaigns != nil {
		s.opts.WakeCampaigns()
	}
}

// campaignList lists the campaigns, newest first, those in the states of ?state= (given
// once per state) or all. A campaign holds no one's data, so the list is not recorded.
func (s *Server) campaignList(w http.ResponseWriter, r *http.Request, c *call) error {
	var states []leadmailer.CampaignState
	for _, v := range r.URL.Query()["state"] {
		st := leadmailer.CampaignState(v)
		switch st {
		case leadmailer.CampaignDraft, leadmailer.CampaignScheduled, leadmailer.CampaignRunning, leadmailer.CampaignPaused,
			leadmailer.CampaignFinished, leadmailer.CampaignCancelled, leadmailer.CampaignMissed:
		default:
			return fieldErrorf("state", "state %q: use draft, scheduled, running, paused, finished, cancelled or missed", v)
		}
		states = append(states, st)
	}
	cs, err := s.db.FindCampaigns(r.Context(), states...)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []*leadmailer.Campaign{}
	}
	writeJSON(w, http.StatusOK, struct {
		Campaigns []*leadmailer.Campaign `json:"campaigns"`
	}{cs})
	return nil
}
