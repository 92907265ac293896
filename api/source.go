package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/leadmailer/leadmailer"
)

// sourceRow is a configured source as GET /api/v1/sources lists it: its configuration, when
// it runs next, whether it runs now, and its latest run.
type sourceRow struct {
	Source
	NextRun *time.Time            `json:"next_run,omitempty"`
	Running bool                  `json:"running"`
	LastRun *leadmailer.ImportRun `json:"last_run,omitempty"`
}

// findSource returns the configured source named by the path's {name}.
func (s *Server) findSource(r *http.Request) (Source, error) {
	name := r.PathValue("name")
	for _, src := range s.opts.Sources {
		if src.Name == name {
			return src, nil
		}
	}
	return Source{}, leadmailer.Errorf(leadmailer.ENOTFOUND, "no source %q in the configuration", name)
}

func (s *Server) sourceRow(r *http.Request, src Source) (sourceRow, error) {
	row := sourceRow{Source: src}
	if src.NextRun != nil {
		next := src.NextRun(s.opts.Now()).UTC()
		row.NextRun = &next
	}
	if s.opts.SourceRunning != nil {
		row.Running = s.opts.SourceRunning(src.Name)
	}
	runs, err := s.db.FindImportRuns(r.Context(), src.Name, 1)
	if err != nil {
		return row, err
	}
	if len(runs) > 0 {
		row.LastRun = runs[0]
	}
	return row, nil
}

// sourceList lists the configured sources, as the web app's sources page.
func (s *Server) sourceList(w http.ResponseWriter, r *http.Request, c *call) error {
	rows := []sourceRow{}
	for _, src := range s.opts.Sources {
		row, err := s.sourceRow(r, src)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	writeJSON(w, http.StatusOK, struct {
		Sources []sourceRow `json:"sources"`
	}{rows})
	return nil
}

// sourceRun starts a run of the source now, in the background, through the same code as
// "leadmailer sources run"; GET /api/v1/sources/{name}/runs shows it. A second call while
// the source runs is a conflict.
func (s *Server) sourceRun(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := noBody(r); err != nil {
		return err
	}
	src, err := s.findSource(r)
	if err != nil {
		return err
	}
	if s.opts.RunSource == nil {
		return leadmailer.Errorf(leadmailer.EINVALID, "this server cannot run sources")
	}
	if err := s.opts.RunSource(src.Name, c.token.Actor()); err != nil {
		return err
	}
	if err := s.audit(r, c, leadmailer.AuditSourceRun, "source "+src.Name, ""); err != nil {
		return err
	}
	row, err := s.sourceRow(r, src)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, row)
	return nil
}

// Page sizes of GET /api/v1/sources/{name}/runs.
const (
	defaultRunLimit = 20
	maxRunLimit     = 100
)

// sourceRuns lists the source's latest runs, newest first.
func (s *Server) sourceRuns(w http.ResponseWriter, r *http.Request, c *call) error {
	src, err := s.findSource(r)
	if err != nil {
		return err
	}
	limit := defaultRunLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRunLimit {
			return fieldErrorf("limit", "limit %q: give a number from 1 to %d", v, maxRunLimit)
		}
		limit = n
	}
	runs, err := s.db.FindImportRuns(r.Context(), src.Name, limit)
	if err != nil {
		return err
	}
	if runs == nil {
		runs = []*leadmailer.ImportRun{}
	}
	writeJSON(w, http.StatusOK, struct {
		Runs []*leadmailer.ImportRun `json:"runs"`
	}{runs})
	return nil
}
