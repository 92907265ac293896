package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/leadmailer/leadmailer"
)

// sourceRow is a configured source with its latest run.
type sourceRow struct {
	SourceInfo
	Next    time.Time
	Running bool
	Last    *leadmailer.ImportRun
}

func (s *Server) sourceRow(r *http.Request, in SourceInfo, runs int) (sourceRow, []*leadmailer.ImportRun, error) {
	row := sourceRow{SourceInfo: in}
	now := s.opts.Now()
	if in.NextRun != nil {
		row.Next = in.NextRun(now)
	}
	if s.opts.SourceRunning != nil {
		row.Running = s.opts.SourceRunning(in.Name)
	}
	list, err := s.db.FindImportRuns(r.Context(), in.Name, runs)
	if err != nil {
		return row, nil, err
	}
	s.effectiveStatus(list)
	if len(list) > 0 {
		row.Last = list[0]
	}
	return row, list, nil
}

// sourceList lists the configured sources with their schedule and latest run.
func (s *Server) sourceList(w http.ResponseWriter, r *http.Request, rq *request) error {
	var rows []sourceRow
	for _, in := range s.opts.Sources {
		row, _, err := s.sourceRow(r, in, 1)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	s.render(w, r, rq, http.StatusOK, "source_list", "Sources", struct {
		Sources []sourceRow
		CanRun  bool
	}{rows, s.opts.RunSource != nil})
	return nil
}

func (s *Server) findSource(name string) (SourceInfo, error) {
	for _, in := range s.opts.Sources {
		if in.Name == name {
			return in, nil
		}
	}
	return SourceInfo{}, leadmailer.Errorf(leadmailer.ENOTFOUND, "no source %q in the configuration", name)
}

// sourceShow shows one source and its latest runs, each linking to the run's report.
func (s *Server) sourceShow(w http.ResponseWriter, r *http.Request, rq *request) error {
	in, err := s.findSource(r.PathValue("name"))
	if err != nil {
		return err
	}
	row, runs, err := s.sourceRow(r, in, 50)
	if err != nil {
		return err
	}
	s.render(w, r, rq, http.StatusOK, "source_show", "Source "+in.Name, struct {
		Source sourceRow
		Runs   []*leadmailer.ImportRun
		CanRun bool
	}{row, runs, s.opts.RunSource != nil})
	return nil
}

// sourceRun starts a run of the source in the background, as "leadmailer sources run" does;
// a source runs once at a time, so this fails while it runs already.
func (s *Server) sourceRun(w http.ResponseWriter, r *http.Request, rq *request) error {
	in, err := s.findSource(r.PathValue("name"))
	if err != nil {
		return err
	}
	if s.opts.RunSource == nil {
		return leadmailer.Errorf(leadmailer.EINVALID, "this server cannot run sources")
	}
	if err := s.opts.RunSource(in.Name, "user:"+rq.user.Name); err != nil {
		return err
	}
	if err := s.audit(r, rq, auditSourceRun, "source "+in.Name, ""); err != nil {
		return err
	}
	http.Redirect(w, r, "/sources/"+url.PathEscape(in.Name), http.StatusSeeOther)
	return nil
}
