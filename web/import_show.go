package web

import (
	"net/http"
	"strconv"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
)

// importShow shows one import run: its counts, and while it runs a progress bar that
// static/app.js keeps up to date from importProgress.
func (s *Server) importShow(w http.ResponseWriter, r *http.Request, rq *request) error {
	run, job, err := s.findRun(r)
	if err != nil {
		return err
	}
	data := struct {
		Run         *leadmailer.ImportRun
		Running     bool
		Report      *importer.Report
		Error       string
		HasRejects  bool
		ProgressURL string
		// Columns are the report's columns to list: every stored one and the first few
		// that were not. A file may have 1,000 columns no field matches.
		Columns []importer.Column
		// Unmapped is importer.ListSome's sentence on the columns not stored, the one the
		// command line prints, so that both say the same. With a report it is set only
		// when Columns leaves some out.
		Unmapped string
	}{Run: run, Running: run.Status == leadmailer.RunRunning}
	if job != nil {
		snap := job.snapshot()
		data.Report, data.Running = snap.report, !snap.done
		if snap.err != nil {
			data.Error = snap.err.Error()
		}
	}
	if data.Report != nil {
		var more int
		data.Columns, more = someColumns(data.Report.Columns)
		if more > 0 {
			data.Unmapped = importer.ListSome(data.Report.Unmapped)
		}
	} else {
		data.Unmapped = importer.ListSome(run.Unmapped)
	}
	stored, legacy, err := s.runRejects(r, run)
	if err != nil {
		return err
	}
	if legacy != nil {
		legacy.Close()
	}
	data.HasRejects = stored > 0 || legacy != nil
	data.ProgressURL = "/imports/" + strconv.FormatInt(run.ID, 10) + "/progress"
	s.render(w, r, rq, http.StatusOK, "import_show", "Import run "+strconv.FormatInt(run.ID, 10), data)
	return nil
}

// someColumns returns the stored columns and the first importer.MaxListed columns not
// stored, in the file's order, and how many columns not stored it left out.
func someColumns(cols []importer.Column) (shown []importer.Column, more int) {
	unmapped := 0
	for _, c := range cols {
		if c.Field == "-" {
			unmapped++
			if unmapped > importer.MaxListed {
				more++
				continue
			}
		}
		shown = append(shown, c)
	}
	return shown, more
}

// findRun returns the run named in the path, with its job if it was started by this process.
func (s *Server) findRun(r *http.Request) (*leadmailer.ImportRun, *importJob, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no import run %q", r.PathValue("id"))
	}
	run, err := s.db.FindImportRun(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	run.Status = run.EffectiveStatus(s.opts.Now())
	s.mu.Lock()
	job := s.jobs[id]
	s.mu.Unlock()
	return run, job, nil
}
