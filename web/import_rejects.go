package web

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/leadmailer/leadmailer"
)

// rejectsPath is where the rejected rows of a run started from the web are kept.
func (s *Server) rejectsPath(runID int64) string {
	return filepath.Join(s.opts.DataDir, "rejects", fmt.Sprintf("run-%d.csv", runID))
}

// importRejects downloads a run's rejected rows, with the reason for each. They hold personal
// data, so the download is recorded.
func (s *Server) importRejects(w http.ResponseWriter, r *http.Request, rq *request) error {
	run, _, err := s.findRun(r)
	if err != nil {
		return err
	}
	f, err := os.Open(s.rejectsPath(run.ID))
	if os.IsNotExist(err) {
		return leadmailer.Errorf(leadmailer.ENOTFOUND, "import run %d has no rejects file", run.ID)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := s.audit(r, rq, leadmailer.AuditRejectsGet, fmt.Sprintf("run %d", run.ID), ""); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="rejects-run-%d.csv"`, run.ID))
	// A run with many rejects makes a file that takes longer than the server's write
	// timeout to download; each chunk has that long instead.
	http.ServeContent(extendWrites(w, s.opts.WriteTimeout), r, "", st.ModTime(), f)
	return nil
}
