package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/rejectfiles"
)

func (s *Server) findLead(r *http.Request) (*leadmailer.Lead, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no lead %q", r.PathValue("id"))
	}
	return s.db.FindLeadByID(r.Context(), id)
}

// leadExport answers a person's access request: everything held about the lead's address,
// as a JSON download.
func (s *Server) leadExport(w http.ResponseWriter, r *http.Request, rq *request) error {
	lead, err := s.findLead(r)
	if err != nil {
		return err
	}
	if err := s.audit(r, rq, auditLeadExport, leadTarget(lead.ID), ""); err != nil {
		return err
	}
	x, err := s.db.ExportLead(r.Context(), lead.Email)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="lead-%d-export.json"`, lead.ID))
	_, err = w.Write(append(body, '\n'))
	return err
}

// leadEraseConfirm asks for the reason before erasing a lead.
func (s *Server) leadEraseConfirm(w http.ResponseWriter, r *http.Request, rq *request) error {
	lead, err := s.findLead(r)
	if err != nil {
		return err
	}
	if err := s.audit(r, rq, leadmailer.AuditLeadView, leadTarget(lead.ID), "erasure form"); err != nil {
		return err
	}
	s.render(w, r, rq, http.StatusOK, "lead_erase", "Erase "+lead.Email, struct{ Lead *leadmailer.Lead }{lead})
	return nil
}

// leadErase erases a lead: its values, provenance, website queries and consents go; only a
// hash stays on the suppression list, so that no import brings the address back.
func (s *Server) leadErase(w http.ResponseWriter, r *http.Request, rq *request) error {
	lead, err := s.findLead(r)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		return leadmailer.Errorf(leadmailer.EINVALID, "give the reason for the erasure, such as \"erasure request of 2026-12-01\"")
	}
	er, err := s.db.EraseLead(r.Context(), lead.Email, reason)
	if err != nil {
		return err
	}
	// The rejects files older versions left in the data directory hold rows of the person
	// too. One that cannot be rewritten is named in the error shown, after the audit entry.
	files, filesErr := rejectfiles.Erase(rejectfiles.Dir(s.opts.DataDir), lead.Email)
	// The address itself must not stay in the audit trail either: the entry names the lead
	// by number and the suppression hash.
	if err := s.audit(r, rq, auditLeadErase, leadTarget(lead.ID), reason); err != nil {
		return err
	}
	if filesErr != nil {
		return fmt.Errorf("lead %d is erased from the database, but %w", lead.ID, filesErr)
	}
	s.render(w, r, rq, http.StatusOK, "lead_erased", "Lead erased", struct {
		ID     int64
		Reason string
		Hash   string
		Obs    int64
		Wq     int64
		Cons   int64
		// Rejects and FileRejects are the rejected import rows erased from the database
		// and from rejects files.
		Rejects, FileRejects int64
	}{lead.ID, reason, er.SuppressionHash[:16], er.Observations, er.WebsiteQueries, er.Consents,
		er.Rejects + files.Rows, files.Rows})
	return nil
}
