package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/rejectfiles"
	"github.com/leadmailer/leadmailer/store"
)

// leadExport answers a person's access request: everything held about the lead's address,
// as the web app's export gives it.
func (s *Server) leadExport(w http.ResponseWriter, r *http.Request, c *call) error {
	lead, err := s.findLead(r)
	if err != nil {
		return err
	}
	if err := s.audit(r, c, leadmailer.AuditLeadExport, leadTarget(lead.ID), ""); err != nil {
		return err
	}
	x, err := s.db.ExportLead(r.Context(), lead.Email)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, x)
	return nil
}

// leadErase erases a lead as the web app does: its values, provenance, website queries and
// consents go, and a keyed hash on the suppression list keeps any import from bringing the
// address back. The reason is required, as it is in the web app, and recorded.
func (s *Server) leadErase(w http.ResponseWriter, r *http.Request, c *call) error {
	lead, err := s.findLead(r)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(r.URL.Query().Get("reason"))
	if reason == "" {
		return fieldErrorf("reason", "give the reason for the erasure in ?reason=, such as \"erasure request of 2026-12-01\"")
	}
	er, err := s.db.EraseLead(r.Context(), lead.Email, reason)
	if err != nil {
		return err
	}
	// The rejects files older versions left in the data directory hold rows of the person
	// too. One that cannot be rewritten is named in the error, after the audit entry.
	files, filesErr := rejectfiles.Erase(rejectfiles.Dir(s.opts.DataDir), lead.Email)
	// The entry names the lead by number, never by address: the trail outlives the erasure.
	if err := s.audit(r, c, leadmailer.AuditLeadErase, leadTarget(lead.ID), reason); err != nil {
		return err
	}
	if filesErr != nil {
		return fmt.Errorf("lead %d is erased from the database, but %w", lead.ID, filesErr)
	}
	writeJSON(w, http.StatusOK, struct {
		*store.Erasure
		RejectFiles rejectfiles.Erased `json:"reject_files"`
	}{er, files})
	return nil
}
