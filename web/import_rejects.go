package web

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/csvsafe"
)

// rejectsPath is where the rejected rows of a run started from the web are kept.
func (s *Server) rejectsPath(runID int64) string {
	return filepath.Join(s.opts.DataDir, "rejects", fmt.Sprintf("run-%d.csv", runID))
}

// importRejects downloads a run's rejected rows, with the reason for each. They hold personal
// data, so the download is recorded. The file is written neutralised against spreadsheet
// formulas, but one written by an older version may not be: it is passed through csvsafe on
// the way out, which leaves a neutralised file as it is.
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
	if err := s.audit(r, rq, leadmailer.AuditRejectsGet, fmt.Sprintf("run %d", run.ID), ""); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="rejects-run-%d.csv"`, run.ID))
	in := csv.NewReader(f)
	in.FieldsPerRecord = -1
	// A run with many rejects makes a file that takes longer than the server's write
	// timeout to download; each chunk written has that long instead.
	out := csvsafe.NewWriter(extendWrites(w, s.opts.WriteTimeout))
	for {
		rec, err := in.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The header is sent: all that is left is to cut the download short and say why.
			s.opts.Logger.Error("rejects download cut short", "run", run.ID, "err", err)
			break
		}
		out.Write(rec)
	}
	out.Flush()
	return nil
}
