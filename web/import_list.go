package web

import (
	"net/http"
)

// importList lists the latest import runs.
func (s *Server) importList(w http.ResponseWriter, r *http.Request, rq *request) error {
	runs, err := s.db.FindImportRuns(r.Context(), r.URL.Query().Get("source"), 200)
	if err != nil {
		return err
	}
	s.effectiveStatus(runs)
	s.render(w, r, rq, http.StatusOK, "import_list", "Imports", runs)
	return nil
}
