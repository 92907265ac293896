package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// Page sizes of GET /api/v1/leads.
const (
	defaultLeadLimit = 50
	maxLeadLimit     = 1000
)

// leadPage is the answer of GET /api/v1/leads.
type leadPage struct {
	Leads []*leadmailer.Lead `json:"leads"`
	// NextCursor, given as ?after=, fetches the next page; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// leadList lists leads with the filters of the web app's lead list (q, country, source,
// state) and its keyset paging: after= is the last ID of the previous page, so the
// hundredth page costs what the first does. It is recorded as the web app records a list or
// a search.
func (s *Server) leadList(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	f := store.LeadFilter{Search: strings.TrimSpace(q.Get("q")), Source: q.Get("source"),
		State: leadmailer.LeadState(q.Get("state"))}
	if v := strings.TrimSpace(q.Get("country")); v != "" {
		code, ok := leadmailer.NormalizeCountry(v)
		if !ok {
			return fieldErrorf("country", "%q is not a country; use a code such as FI or a name such as Finland", v)
		}
		f.Country = code
	}
	if f.State != "" && f.State != leadmailer.LeadActive && f.State != leadmailer.LeadInactive {
		return fieldErrorf("state", "state %q: use active or inactive", f.State)
	}
	if v := q.Get("after"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 0 {
			return fieldErrorf("after", "after %q: give the next_cursor of the previous page", v)
		}
		f.AfterID = id
	}
	limit := defaultLeadLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLeadLimit {
			return fieldErrorf("limit", "limit %q: give a number from 1 to %d", v, maxLeadLimit)
		}
		limit = n
	}
	f.Limit = limit + 1 // one more tells whether there is a next page

	action, detail := leadmailer.AuditLeadList, ""
	if f.Search != "" || f.Country != "" || f.Source != "" || f.State != "" {
		action = leadmailer.AuditLeadSearch
		detail = strings.TrimSpace(fmt.Sprintf("%s %s %s %s", kv("q", f.Search), kv("country", f.Country),
			kv("source", f.Source), kv("state", string(f.State))))
	}
	if f.AfterID > 0 {
		detail = strings.TrimSpace(detail + " " + kv("after", strconv.FormatInt(f.AfterID, 10)))
	}
	if err := s.audit(r, c, action, "", detail); err != nil {
		return err
	}
	page := leadPage{Leads: []*leadmailer.Lead{}}
	if err := s.db.FindLeads(r.Context(), f, func(l *leadmailer.Lead) error {
		page.Leads = append(page.Leads, l)
		return nil
	}); err != nil {
		return err
	}
	if len(page.Leads) > limit {
		page.Leads = page.Leads[:limit]
		page.NextCursor = strconv.FormatInt(page.Leads[limit-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// kv formats a filter for an audit entry, or "" when it is empty, as the web app does.
func kv(k, v string) string {
	if v == "" {
		return ""
	}
	return fmt.Sprintf("%s=%q", k, v)
}
