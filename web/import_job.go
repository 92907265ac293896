package web

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store"
)

// importJob is an import started from the web, running in the background.
type importJob struct {
	mu       sync.Mutex
	progress importer.Progress
	report   *importer.Report
	err      error
	done     bool
}

type jobSnapshot struct {
	progress importer.Progress
	report   *importer.Report
	err      error
	done     bool
}

func (j *importJob) snapshot() jobSnapshot {
	j.mu.Lock()
	defer j.mu.Unlock()
	return jobSnapshot{j.progress, j.report, j.err, j.done}
}

func (j *importJob) setProgress(p importer.Progress) {
	j.mu.Lock()
	j.progress = p
	j.mu.Unlock()
}

// runCapture hands the importer the store and tells the caller the run's ID as soon as the
// run exists, which is before the first row is written.
type runCapture struct {
	db      *store.DB
	started func(*leadmailer.ImportRun)
}

func (c *runCapture) BeginImport(ctx context.Context, run *leadmailer.ImportRun, dryRun bool) (leadmailer.ImportWriter, error) {
	w, err := c.db.BeginImport(ctx, run, dryRun)
	if err == nil {
		c.started(w.Run())
	}
	return w, err
}

// startImport checks the upload's mapping, starts importing it in the background and returns
// the run's ID. The upload is claimed in the database first, so that a second "import" for
// it, on this process or another, is refused. The uploaded file is deleted once the import
// ends: it may hold columns the import deliberately does not store.
func (s *Server) startImport(ctx context.Context, u *upload, rq *request) (int64, error) {
	if err := s.checkMapping(ctx, u); err != nil {
		return 0, err
	}
	if err := s.db.ClaimPendingUpload(ctx, u.ID, u.UserID, s.opts.Now()); err != nil {
		return 0, err
	}

	job := &importJob{}
	started := make(chan int64, 1)
	failed := make(chan error, 1)
	var runID int64
	opts := importer.Options{
		Source: u.Source, Kind: u.Kind, FileName: u.FileName, Actor: "user:" + rq.user.Name, Map: u.Map,
		Delimiter: u.Delimiter, Encoding: u.Encoding, Size: u.Size, Progress: job.setProgress,
	}
	if opts.Delimiter == "tab" {
		opts.Delimiter = "\t"
	}
	// The rejected rows are stored with the run, in the batches' transactions.
	capture := &runCapture{db: s.db, started: func(run *leadmailer.ImportRun) {
		runID = run.ID
		s.mu.Lock()
		s.jobs[run.ID] = job
		s.mu.Unlock()
		started <- run.ID
	}}
	f, err := s.db.OpenPendingUpload(s.ctx, u)
	if err != nil {
		s.db.ReleasePendingUpload(context.WithoutCancel(ctx), u.ID)
		return 0, err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer f.Close()
		rep, err := importer.Import(s.ctx, capture, f, opts)
		job.mu.Lock()
		job.report, job.err, job.done = rep, err, true
		job.mu.Unlock()
		if runID == 0 {
			failed <- err
			return
		}
		if err := s.db.DeletePendingUpload(context.WithoutCancel(s.ctx), u.ID); err != nil {
			s.opts.Logger.Error("delete imported upload", slog.String("upload", u.ID), slog.Any("err", err))
		}
		if err != nil {
			s.opts.Logger.Error("web import failed", slog.Int64("run", runID), slog.Any("err", err))
		}
	}()
	select {
	case id := <-started:
		return id, nil
	case err := <-failed:
		// Nothing was stored: give the upload back so the user can fix its settings.
		if rerr := s.db.ReleasePendingUpload(context.WithoutCancel(ctx), u.ID); rerr != nil {
			s.opts.Logger.Error("release upload", slog.String("upload", u.ID), slog.Any("err", rerr))
		}
		if err == nil {
			err = fmt.Errorf("the import ended before it started")
		}
		return 0, err
	}
}
