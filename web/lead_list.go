package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// leadsPerPage is the length of a page of the lead list.
const leadsPerPage = 50

// leadList lists leads a page at a time, searched and filtered. Pages are keyset-paginated
// (after=ID), so the hundredth page costs what the first does.
func (s *Server) leadList(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := r.URL.Query()
	f := store.LeadFilter{Search: strings.TrimSpace(q.Get("q")), Source: q.Get("source"),
		State: leadmailer.LeadState(q.Get("state")), Limit: leadsPerPage + 1}
	var problems []string
	if c := strings.TrimSpace(q.Get("country")); c != "" {
		code, ok := leadmailer.NormalizeCountry(c)
		if ok {
			f.Country = code
		} else {
			problems = append(problems, fmt.Sprintf("%q is not a country; use a code such as FI or a name such as Finland.", c))
		}
	}
	if f.State != "" && f.State != leadmailer.LeadActive && f.State != leadmailer.LeadInactive {
		f.State = ""
	}
	if a := q.Get("after"); a != "" {
		f.AfterID, _ = strconv.ParseInt(a, 10, 64)
	}
	sources, err := s.db.FindSourceStats(r.Context())
	if err != nil {
		return err
	}

	action, detail := leadmailer.AuditLeadList, ""
	if f.Search != "" || f.Country != "" || f.Source != "" || f.State != "" {
		action = leadmailer.AuditLeadSearch
		detail = strings.TrimSpace(fmt.Sprintf("%s %s %s %s", kv("q", f.Search), kv("country", f.Country),
			kv("source", f.Source), kv("state", string(f.State))))
	}
	if f.AfterID > 0 {
		detail = strings.TrimSpace(detail + " " + kv("after", strconv.FormatInt(f.AfterID, 10)))
	}
	if err := s.audit(r, rq, action, "", detail); err != nil {
		return err
	}
	var leads []*leadmailer.Lead
	if err := s.db.FindLeads(r.Context(), f, func(l *leadmailer.Lead) error {
		leads = append(leads, l)
		return nil
	}); err != nil {
		return err
	}
	var next string
	if len(leads) > leadsPerPage {
		leads = leads[:leadsPerPage]
		next = strconv.FormatInt(leads[len(leads)-1].ID, 10)
	}
	s.render(w, r, rq, http.StatusOK, "lead_list", "Leads", struct {
		Q, Country, Source, State string
		Sources                   []store.SourceStats
		Leads                     []*leadmailer.Lead
		Next                      string
		Paged                     bool
		Problems                  []string
	}{f.Search, q.Get("country"), f.Source, string(f.State), sources, leads, next, f.AfterID > 0, problems})
	return nil
}

// kv formats a filter for an audit entry, or "" when it is empty.
func kv(k, v string) string {
	if v == "" {
		return ""
	}
	return fmt.Sprintf("%s=%q", k, v)
}
