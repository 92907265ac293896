package web

import (
	"bytes"
	"context"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer"
)

// previewCSP is the policy of a previewed message's HTML, which the preview page shows in a
// sandboxed frame: no script, no forms, no fetching anything but inline styles and inline
// images, and framing only by our own pages. The sandbox keeps the frame's document in our
// origin (allow-same-origin) so that the preview page's script can read its height and show
// the whole message, notices included, without a scroll box of its own; as the frame runs no
// script, being same-origin gives the message itself nothing.
const previewCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox allow-same-origin"

// previewMessage renders campaign c's message to the lead with the form's e-mail address,
// exactly as a send would, recording the view of the lead's data in the audit trail.
func (s *Server) previewMessage(r *http.Request, rq *request, c *leadmailer.Campaign, email string) (*leadmailer.Lead, *mailer.Message, error) {
	if s.opts.Mail == nil {
		return nil, nil, leadmailer.Errorf(leadmailer.EINVALID, "previews need the sender's configuration, which this server was started without")
	}
	if strings.TrimSpace(email) == "" {
		return nil, nil, leadmailer.Errorf(leadmailer.EINVALID, "give the e-mail address of a lead to preview the message for")
	}
	lead, err := s.db.FindLeadByEmail(r.Context(), strings.TrimSpace(email))
	if err != nil {
		return nil, nil, err
	}
	if err := s.audit(r, rq, auditCampaignPreview, leadTarget(lead.ID), campaignTarget(c.ID)); err != nil {
		return nil, nil, err
	}
	b, err := s.opts.Mail.Builder(r.Context(), c)
	if err != nil {
		return nil, nil, err
	}
	m, err := b.Message(lead, s.opts.Now())
	if err != nil {
		return nil, nil, leadmailer.Errorf(leadmailer.EINVALID, "this message would not be sent: %v", err)
	}
	return lead, m, nil
}

// campaignPreview shows the message a lead would get: its headers, the text part, and the
// HTML part in a sandboxed frame, with a note when the lead is outside the audience.
func (s *Server) campaignPreview(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	email := r.URL.Query().Get("lead")
	lead, m, err := s.previewMessage(r, rq, c, email)
	if err != nil {
		if code := leadmailer.ErrorCode(err); code == leadmailer.EINVALID || code == leadmailer.ENOTFOUND {
			return s.showCampaign(w, r, rq, c, "", err.Error())
		}
		return err
	}
	why, err := s.db.AudienceCheck(r.Context(), c, s.opts.Mail.AudienceRules(), lead.ID)
	if err != nil {
		return err
	}
	raw, err := mailer.AppendMessage(nil, m, nil)
	if err != nil {
		return err
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	rawHead := strings.ReplaceAll(string(head), "\r\n", "\n")
	s.render(w, r, rq, http.StatusOK, "campaign_preview", "Preview: "+c.Name, struct {
		C        *leadmailer.Campaign
		Lead     *leadmailer.Lead
		Headers  string // decoded, for reading
		Raw      string // as sent
		Text     string
		FrameURL string
		Outside  string
	}{c, lead, decodeHeaders(rawHead), rawHead, m.Text,
		campaignPath(c.ID) + "/preview.html?lead=" + url.QueryEscape(lead.Email), why})
	return nil
}

// decodeHeaders returns a message's header section for people: each field on one line, its
// encoded words (RFC 2047, "=?utf-8?q?Kev=C3=A4=C3=A4ll=C3=A4?=") decoded. A field that does
// not decode is shown as it is.
func decodeHeaders(head string) string {
	var fields []string
	for _, line := range strings.Split(head, "\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(fields) > 0 {
			fields[len(fields)-1] += line // a folded line continues the field (RFC 5322 2.2.3)
			continue
		}
		fields = append(fields, line)
	}
	dec := &mime.WordDecoder{}
	for i, f := range fields {
		name, value, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		if d, err := dec.DecodeHeader(strings.TrimSpace(value)); err == nil {
			fields[i] = name + ": " + d
		}
	}
	return strings.Join(fields, "\n")
}

// campaignPreviewHTML serves the HTML part of a preview on its own, for the preview page's
// sandboxed frame, under a policy that lets nothing in it run or load.
func (s *Server) campaignPreviewHTML(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	_, m, err := s.previewMessage(r, rq, c, r.URL.Query().Get("lead"))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Security-Policy", previewCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, err = w.Write([]byte(m.HTML))
	return err
}

// campaignTest sends the campaign's message, as a lead would get it, to another address.
func (s *Server) campaignTest(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := s.findCampaign(r)
	if err != nil {
		return err
	}
	to, err := leadmailer.NormalizeEmail(r.PostFormValue("to"))
	if err != nil || r.PostFormValue("to") == "" {
		return s.showCampaign(w, r, rq, c, "", "Test send: give the address to send the test message to.")
	}
	if s.opts.Mail == nil {
		return s.showCampaign(w, r, rq, c, "", "Test sends need the sender's configuration, which this server was started without.")
	}
	lead := &leadmailer.Lead{Name: "Maija Meikäläinen", Company: "Esimerkki Oy", Country: "FI", Email: to}
	if as := strings.TrimSpace(r.PostFormValue("as")); as != "" {
		if lead, err = s.db.FindLeadByEmail(r.Context(), as); err != nil {
			if leadmailer.ErrorCode(err) == leadmailer.ENOTFOUND {
				return s.showCampaign(w, r, rq, c, "", "Test send: "+err.Error())
			}
			return err
		}
	}
	asLead := "a sample lead"
	if lead.ID != 0 {
		asLead = leadTarget(lead.ID)
	}
	if err := s.audit(r, rq, auditCampaignTest, campaignTarget(c.ID), "to "+to+" as "+asLead); err != nil {
		return err
	}
	reply, err := s.sendTest(r.Context(), c, lead, to)
	// A slow relay may take minutes to answer (its timeouts are RFC 5321's); the page
	// then has the server's write timeout from now, not from the request.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	if err != nil {
		if leadmailer.ErrorCode(err) == leadmailer.EINVALID {
			return s.showCampaign(w, r, rq, c, "", err.Error())
		}
		s.opts.Logger.Error("test send", "campaign", c.ID, "err", err)
		return s.showCampaign(w, r, rq, c, "", "The test message was not sent: "+err.Error())
	}
	return s.showCampaign(w, r, rq, c, "Test message sent to "+to+": "+reply, "")
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
