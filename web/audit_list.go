package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

const auditPerPage = 100

// auditList shows the audit trail, newest first, filtered by user, action and dates. Reading
// it is itself recorded.
func (s *Server) auditList(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := r.URL.Query()
	f := store.AuditFilter{Action: strings.TrimSpace(q.Get("action")), Limit: auditPerPage + 1}
	user := strings.TrimSpace(q.Get("user"))
	if user != "" && !strings.Contains(user, ":") {
		f.Actor = "user:" + user
	} else {
		f.Actor = user
	}
	var problems []string
	for _, d := range []struct {
		name string
		dst  *time.Time
		add  time.Duration
	}{{"since", &f.Since, 0}, {"until", &f.Until, 24 * time.Hour}} {
		v := strings.TrimSpace(q.Get(d.name))
		if v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%q is not a date; write it as 2026-11-30.", v))
			continue
		}
		*d.dst = t.Add(d.add) // "until" includes the whole day
	}
	if b := q.Get("before"); b != "" {
		f.BeforeID, _ = strconv.ParseInt(b, 10, 64)
	}
	detail := strings.TrimSpace(strings.Join([]string{kv("user", user), kv("action", f.Action),
		kv("since", q.Get("since")), kv("until", q.Get("until"))}, " "))
	if err := s.audit(r, rq, leadmailer.AuditAuditView, "", detail); err != nil {
		return err
	}
	var entries []*leadmailer.AuditEntry
	if err := s.db.FindAuditEntries(r.Context(), f, func(e *leadmailer.AuditEntry) error {
		entries = append(entries, e)
		return nil
	}); err != nil {
		return err
	}
	var next string
	if len(entries) > auditPerPage {
		entries = entries[:auditPerPage]
		next = strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	s.render(w, r, rq, http.StatusOK, "audit_list", "Audit trail", struct {
		User, Action, Since, Until string
		Actions                    []string
		Entries                    []*leadmailer.AuditEntry
		Next                       string
		Problems                   []string
	}{user, f.Action, q.Get("since"), q.Get("until"), auditActions, entries, next, problems})
	return nil
}

// auditActions are offered in the action filter.
var auditActions = []string{
	leadmailer.AuditLogin, leadmailer.AuditLoginFailed, leadmailer.AuditLogout, "lead.",
	leadmailer.AuditLeadView, leadmailer.AuditLeadSearch, leadmailer.AuditLeadList, "import.",
	leadmailer.AuditUpload, leadmailer.AuditImport, leadmailer.AuditRejectsGet, "user.",
	leadmailer.AuditUserCreate, leadmailer.AuditUserPassword, leadmailer.AuditUserDisable,
	leadmailer.AuditAuditView, leadmailer.AuditAuditVerify, "token.",
	leadmailer.AuditTokenAdd, leadmailer.AuditTokenRevoke, leadmailer.AuditTokenRefused,
	leadmailer.AuditAPICall, leadmailer.AuditWebhookReplay,
}
