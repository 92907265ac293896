package web

import (
	"net/http"

	"github.com/leadmailer/leadmailer"
)

// progressReport is what static/app.js polls while an import runs.
type progressReport struct {
	Status    leadmailer.RunStatus    `json:"status"`
	Done      bool                    `json:"done"`
	BytesRead int64                   `json:"bytes_read"`
	Size      int64                   `json:"size"`
	Percent   int                     `json:"percent"`
	Counts    leadmailer.ImportCounts `json:"counts"`
}

// importProgress answers with a run's progress as JSON.
func (s *Server) importProgress(w http.ResponseWriter, r *http.Request, rq *request) error {
	run, job, err := s.findRun(r)
	if err != nil {
		return err
	}
	p := progressReport{Status: run.Status, Done: run.Status != leadmailer.RunRunning, Counts: run.Counts}
	if job != nil {
		snap := job.snapshot()
		p.Done = snap.done
		p.BytesRead, p.Size = snap.progress.BytesRead, snap.progress.Size
		if !snap.done {
			p.Counts = snap.progress.Counts
		}
	}
	switch {
	case p.Done:
		p.Percent = 100
	case p.Size > 0:
		p.Percent = int(min(99, p.BytesRead*100/p.Size))
	}
	w.Header().Set("Content-Type", "application/json")
	return writeJSON(w, p)
}
