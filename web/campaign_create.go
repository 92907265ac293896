package web

import (
	"net/http"
	"strings"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// campaignForm is the new-campaign form, as typed, with what was wrong with it.
type campaignForm struct {
	Name, Subject, HTML, Text, Countries string
	Sources                              []string
	Kinds                                []string
	Problem                              string
	Known                                []store.SourceStats // sources to choose from
	// BodyLanguage is the language tag the subject and body are written in; empty: each
	// lead's notice language.
	BodyLanguage string
}

func (f *campaignForm) Has(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// starterHTML is the body a new campaign starts from: the notice, the opt-out link and the
// sender's details are added to every message, so the body holds only the message itself.
const starterHTML = `<p>Hello {{.Lead.Name}},</p>
<p>…</p>
<p>Best regards,<br>{{.Sender.Company}}</p>
`

// campaignNew shows the form for a new campaign.
func (s *Server) campaignNew(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := &campaignForm{HTML: starterHTML}
	return s.renderCampaignForm(w, r, rq, http.StatusOK, f)
}

func (s *Server) renderCampaignForm(w http.ResponseWriter, r *http.Request, rq *request, status int, f *campaignForm) error {
	known, err := s.db.FindSourceStats(r.Context())
	if err != nil {
		return err
	}
	f.Known = known
	s.render(w, r, rq, status, "campaign_new", "New campaign", f)
	return nil
}

// campaignCreate stores a new draft campaign once its templates compile; otherwise it shows
// the form again with the template error's line and column.
func (s *Server) campaignCreate(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := &campaignForm{
		Name: strings.TrimSpace(r.PostFormValue("name")), Subject: r.PostFormValue("subject"),
		HTML: r.PostFormValue("html"), Text: r.PostFormValue("text"), Countries: r.PostFormValue("countries"),
		Sources: r.PostForm["source"], Kinds: r.PostForm["kind"],
	}
	f.BodyLanguage = strings.TrimSpace(r.PostFormValue("body_language"))
	c := &leadmailer.Campaign{Name: f.Name, Subject: f.Subject, HTML: f.HTML, Text: f.Text, BodyLanguage: f.BodyLanguage,
		State: leadmailer.CampaignDraft, CreatedBy: "user:" + rq.user.Name, Sources: f.Sources}
	problem := ""
	for _, cc := range strings.FieldsFunc(f.Countries, func(r rune) bool { return r == ',' || r == ' ' }) {
		code, ok := leadmailer.NormalizeCountry(cc)
		if !ok {
			problem = "Countries: " + cc + " is not a country; use ISO codes such as FI, SE."
			break
		}
		c.Countries = append(c.Countries, code)
	}
	for _, k := range f.Kinds {
		c.Kinds = append(c.Kinds, leadmailer.SourceKind(k))
	}
	if problem == "" {
		if _, err := c.Validate(); err != nil {
			problem = err.Error()
		}
	}
	switch {
	case problem != "":
	case s.opts.Mail != nil:
		if err := s.opts.Mail.CheckTemplates(c); err != nil {
			if leadmailer.ErrorCode(err) != leadmailer.EINVALID {
				return err
			}
			problem = err.Error()
		}
	}
	if problem != "" {
		f.Problem = problem
		return s.renderCampaignForm(w, r, rq, http.StatusBadRequest, f)
	}
	if err := s.db.CreateCampaign(r.Context(), c); err != nil {
		return err
	}
	if err := s.audit(r, rq, auditCampaignCreate, campaignTarget(c.ID), c.Name); err != nil {
		return err
	}
	http.Redirect(w, r, campaignPath(c.ID), http.StatusSeeOther)
	return nil
}
