package api

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer"
)

// messagePreview is the answer of GET /api/v1/campaigns/{id}/preview: the message a lead
// would get, exactly as a send would make it.
type messagePreview struct {
	LeadID  int64  `json:"lead_id"`
	From    string `json:"from"`
	ReplyTo string `json:"reply_to,omitempty"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	// Headers is the message's header section as sent, lines separated by CRLF.
	Headers string `json:"headers"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	// OutsideAudience says why the lead would not get the campaign, such as "inactive";
	// empty when it would.
	OutsideAudience string `json:"outside_audience,omitempty"`
}

// errNoMail refuses a call that needs the sender's configuration on a server without it.
var errNoMail = leadmailer.Errorf(leadmailer.EINVALID, "previews and test sends need the sender's configuration, which this server was started without")

// campaignPreview renders the campaign's message to the lead ?lead=ID, recorded as a view of
// the lead's data as in the web app.
func (s *Server) campaignPreview(w http.ResponseWriter, r *http.Request, c *call) error {
	camp, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	v := r.URL.Query().Get("lead")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return fieldErrorf("lead", "lead %q: give the ID of the lead to preview the message for", v)
	}
	if s.opts.Mail == nil {
		return errNoMail
	}
	lead, err := s.db.FindLeadByID(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.audit(r, c, leadmailer.AuditCampaignPreview, leadTarget(lead.ID), campaignTarget(camp.ID)); err != nil {
		return err
	}
	b, err := s.opts.Mail.Builder(r.Context(), camp)
	if err != nil {
		return err
	}
	m, err := b.Message(lead, s.opts.Now())
	if err != nil {
		return leadmailer.Errorf(leadmailer.EINVALID, "this message would not be sent: %v", err)
	}
	why, err := s.db.AudienceCheck(r.Context(), camp, s.opts.Mail.AudienceRules(), lead.ID)
	if err != nil {
		return err
	}
	raw, err := mailer.AppendMessage(nil, m, nil)
	if err != nil {
		return err
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	writeJSON(w, http.StatusOK, messagePreview{LeadID: lead.ID, From: m.From, ReplyTo: m.ReplyTo, To: m.To, Subject: m.Subject,
		Headers: string(head), Text: m.Text, HTML: m.HTML, OutsideAudience: why})
	return nil
}

// testInput is the body of POST /api/v1/campaigns/{id}/test.
type testInput struct {
	To string `json:"to"`
	// Lead renders the message as the lead with this ID would get it; 0: a sample lead.
	Lead int64 `json:"lead"`
}

// testResult is the answer of POST /api/v1/campaigns/{id}/test.
type testResult struct {
	To    string `json:"to"`
	Reply string `json:"reply"` // the transport's answer, such as the relay's "250 2.0.0 Ok"
}

// campaignTest sends the campaign's message, as a lead would get it, to another address
// through the configured transport, as the web app's test send does.
func (s *Server) campaignTest(w http.ResponseWriter, r *http.Request, c *call) error {
	camp, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	var in testInput
	if err := decodeJSON(r.Body, &in, ""); err != nil {
		return err
	}
	to, err := leadmailer.NormalizeEmail(in.To)
	if err != nil || strings.TrimSpace(in.To) == "" {
		return fieldErrorf("to", "give the address to send the test message to in \"to\"")
	}
	if s.opts.Mail == nil {
		return errNoMail
	}
	lead := &leadmailer.Lead{Name: "Maija Meikäläinen", Company: "Esimerkki Oy", Country: "FI", Email: to}
	as := "a sample lead"
	if in.Lead != 0 {
		if lead, err = s.db.FindLeadByID(r.Context(), in.Lead); err != nil {
			if leadmailer.ErrorCode(err) == leadmailer.ENOTFOUND {
				return fieldErrorf("lead", "%s", err.Error())
			}
			return err
		}
		as = leadTarget(lead.ID)
	}
	if err := s.audit(r, c, leadmailer.AuditCampaignTest, campaignTarget(camp.ID), "to "+to+" as "+as); err != nil {
		return err
	}
	reply, err := s.sendTest(r.Context(), camp, lead, to)
	// A slow relay may take minutes to answer; the answer then has the server's write
	// timeout from now, not from the request.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	if err != nil {
		if leadmailer.ErrorCode(err) == leadmailer.EINVALID {
			return err
		}
		// The relay's refusal is what the caller needs to see, as the web app shows it.
		s.opts.Logger.Error("test send", "campaign", camp.ID, "err", err)
		return &apiError{status: http.StatusBadGateway, code: CodeSendFailed, msg: "the test message was not sent: " + err.Error()}
	}
	writeJSON(w, http.StatusOK, testResult{To: to, Reply: reply})
	return nil
}

func (s *Server) sendTest(ctx context.Context, c *leadmailer.Campaign, lead *leadmailer.Lead, to string) (string, error) {
	b, err := s.opts.Mail.Builder(ctx, c)
	if err != nil {
		return "", err
	}
	m, err := b.TestMessage(lead, to, s.opts.Now())
	if err != nil {
		return "", leadmailer.Errorf(leadmailer.EINVALID, "this message would not be sent: %v", err)
	}
	return s.opts.Mail.SendTest(ctx, m)
}
