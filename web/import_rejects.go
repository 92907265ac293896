package web

import (
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/csvsafe"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store"
)

// legacyRejectsPath is where an older version kept the rejected rows of a run started from
// the web or the API, in a file of the data directory of the process that ran it. This
// version stores them in the database, so that every process shows them.
func (s *Server) legacyRejectsPath(runID int64) string {
	return importer.LegacyRejectsPath(s.opts.DataDir, runID)
}

// runRejects says where a run's rejected rows are: how many the database holds, or else the
// file an older version left, if any (nil, the caller closes it).
func (s *Server) runRejects(r *http.Request, run *leadmailer.ImportRun) (int64, *os.File, error) {
	n, err := s.db.CountImportRejects(r.Context(), run.ID)
	if err != nil || n > 0 || s.opts.DataDir == "" {
		return n, nil, err
	}
	f, err := os.Open(s.legacyRejectsPath(run.ID))
	if os.IsNotExist(err) {
		return 0, nil, nil
	}
	return 0, f, err
}

// importRejects downloads a run's rejected rows, with the reason for each, streamed from the
// database a page at a time. They hold personal data, so the download is recorded. Cells are
// neutralised against spreadsheet formulas on the way out; so are those of a file an older
// version left, which may not be.
func (s *Server) importRejects(w http.ResponseWriter, r *http.Request, rq *request) error {
	run, _, err := s.findRun(r)
	if err != nil {
		return err
	}
	stored, legacy, err := s.runRejects(r, run)
	if err != nil {
		return err
	}
	if legacy != nil {
		defer legacy.Close()
	} else if stored == 0 {
		return leadmailer.Errorf(leadmailer.ENOTFOUND, "import run %d has no rejected rows", run.ID)
	}
	if err := s.audit(r, rq, leadmailer.AuditRejectsGet, fmt.Sprintf("run %d", run.ID), ""); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="rejects-run-%d.csv"`, run.ID))
	// A run with many rejects makes a file that takes longer than the server's write
	// timeout to download; each chunk written has that long instead.
	out := extendWrites(w, s.opts.WriteTimeout)
	if legacy != nil {
		err = importer.CopyRejectsFile(csvsafe.NewWriter(out), legacy)
	} else {
		err = writeStoredRejects(r, s.db, run.ID, out)
	}
	if err != nil {
		// The header is sent: all that is left is to cut the download short and say why.
		s.opts.Logger.Error("rejects download cut short", "run", run.ID, "err", err)
	}
	return nil
}

// writeStoredRejects writes run runID's stored rejects to out as a rejects file.
func writeStoredRejects(r *http.Request, db *store.DB, runID int64, out io.Writer) error {
	cw := importer.NewRejectsCSV(out)
	err := db.EachImportReject(r.Context(), runID, cw.Write)
	if ferr := cw.Flush(); err == nil {
		err = ferr
	}
	return err
}
