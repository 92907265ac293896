// Package sources imports leads from public databases declared in the configuration: HTTP
// APIs and downloads answering JSON or CSV, with paging, conditional GET, retries and a rate
// limit, and files or globs on disk that another process drops. Every run of a source is an
// import run of kind public (or upload, for a source marked public = false) that goes
// through the importer like a CSV upload, and is recorded whatever its outcome: completed,
// unchanged, or failed with the source, URL and cause.
//
// An HTTP source is fetched whole, every page, before anything is written: a source that is
// unreachable, answers garbage, changes its format or is cut off mid-transfer leaves the
// database as it was, apart from the failed run's record, and its next run starts afresh.
// A file source is read as it is imported, in committed batches, like an upload.
//
// A Runner is safe for concurrent use, but one source should run once at a time (the
// scheduler sees to it); different sources may run together.
package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/filelock"
	"github.com/leadmailer/leadmailer/importer"
)

// Store is what running a source needs of the database.
type Store interface {
	importer.RecordStore
	FindSourceState(ctx context.Context, source string) (*leadmailer.SourceState, error)
	SaveSourceState(ctx context.Context, st *leadmailer.SourceState) error
	FileImported(ctx context.Context, source, sha256 string) (bool, error)
	RecordFinishedRun(ctx context.Context, run *leadmailer.ImportRun) error
}

// Defaults for a source's limits when the configuration leaves them out.
const (
	DefaultTimeout  = 60 * time.Second
	DefaultMaxMB    = 256
	DefaultRate     = 1.0 // requests per second
	DefaultRetries  = 4
	DefaultMaxPages = 10_000
)

// Runner runs sources. The zero value is not usable: set Store.
type Runner struct {
	Store Store
	// Getenv supplies the environment for ${NAME} in headers; nil means os.Getenv.
	Getenv func(string) string
	// Actor is recorded as who ran the import, e.g. "schedule" or the CLI user.
	Actor string
	// TempDir holds responses while a run fetches them; "" means the system's.
	TempDir string
	// LockDir, when set, holds a lock file per source, so that two processes (serve's
	// schedule and a "sources run", say) never run one source at the same time.
	LockDir string
	Log     *slog.Logger
	// Transport, Now and Sleep replace the network, the clock and waiting, for tests.
	Transport http.RoundTripper
	Now       func() time.Time
	Sleep     func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex
	limiters map[string]*rate.Limiter // per source, kept across runs
}

// Result is what one run of a source did: the import report, as "leadmailer import" prints
// it, and the error of a failed run. The records it rejected are stored with the run
// ("leadmailer imports rejects RUN" writes them out).
type Result struct {
	Report *importer.Report
	Err    error
}

// Run runs src once and returns one result per import run: one for an HTTP source, one per
// new file for a file source (or one unchanged run when there is none). The error is that
// of the first failed run; every run, failed or not, is recorded in the database.
func (r *Runner) Run(ctx context.Context, src *config.Source) ([]Result, error) {
	if r.LockDir != "" {
		release, err := filelock.Acquire(filepath.Join(r.LockDir, "source-"+src.Name+".lock"))
		if errors.Is(err, filelock.ErrLocked) {
			return nil, leadmailer.Errorf(leadmailer.ECONFLICT, "source %s is being run by another process (leadmailer serve or sources run); wait for that run to finish", src.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		defer release()
	}
	log := r.logger().With("source", src.Name)
	log.Info("source run started", "kind", src.Kind)
	var results []Result
	switch src.Kind {
	case "http":
		results = []Result{r.runHTTP(ctx, src, log)}
	case "file":
		results = r.runFiles(ctx, src, log)
	default:
		return nil, fmt.Errorf("source %s: kind %q is neither http nor file", src.Name, src.Kind)
	}
	var first error
	for _, res := range results {
		run := res.Report.Run
		if res.Err != nil {
			// Info, not Error: the caller (the scheduler, or the command line) reports the
			// returned error; this line adds the run's number.
			log.Info("source run finished", "run", run.ID, "status", string(leadmailer.RunFailed), "error", res.Err.Error())
			if first == nil {
				first = res.Err
			}
			continue
		}
		c := run.Counts
		attrs := []any{"run", run.ID, "status", string(run.Status), "file", run.FileName,
			"read", c.Read, "inserted", c.Inserted, "updated", c.Updated, "unchanged", c.Unchanged,
			"rejected", c.Rejected, "suppressed", c.Suppressed, "skipped", c.Skipped}
		if c.Rejected > 0 {
			attrs = append(attrs, "rejects", fmt.Sprintf("leadmailer imports rejects %d", run.ID))
		}
		log.Info("source run finished", attrs...)
	}
	return results, first
}

func (r *Runner) logger() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) kind(src *config.Source) leadmailer.SourceKind {
	if src.IsPublic() {
		return leadmailer.KindPublic
	}
	return leadmailer.KindUpload
}

// finished records a run that wrote nothing, failed or unchanged, and returns its result.
func (r *Runner) finished(ctx context.Context, src *config.Source, fileName, sha string, started time.Time, cause error) Result {
	run := &leadmailer.ImportRun{Source: src.Name, Kind: r.kind(src), FileName: fileName, FileSHA256: sha,
		Actor: r.Actor, StartedAt: started.UTC(), Status: leadmailer.RunUnchanged}
	var err error
	if cause != nil {
		run.Status = leadmailer.RunFailed
		err = fmt.Errorf("source %s: %w", src.Name, cause)
		if ctx.Err() != nil {
			err = fmt.Errorf("source %s: stopped before the run finished; the next run starts again", src.Name)
		}
		run.Error = err.Error()
	}
	// Recording how the run ended must happen even when ctx is what ended it.
	if rerr := r.Store.RecordFinishedRun(context.WithoutCancel(ctx), run); rerr != nil && err == nil {
		err = rerr
	}
	return Result{Report: &importer.Report{Run: run}, Err: err}
}

func (r *Runner) fetcher(src *config.Source) (*fetcher, error) {
	getenv := r.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	headers, err := src.RequestHeaders(getenv)
	if err != nil {
		return nil, err
	}
	timeout := src.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	maxMB := src.MaxMB
	if maxMB <= 0 {
		maxMB = DefaultMaxMB
	}
	retries := src.Retries
	if retries == 0 {
		retries = DefaultRetries
	}
	sleep := r.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	transport := r.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	home, err := origin(src.URL)
	if err != nil {
		return nil, fmt.Errorf("source %s: url: %w", src.Name, err)
	}
	return &fetcher{
		source: src.Name, headers: headers, origin: home, limiter: r.limiter(src),
		client:   &http.Client{Transport: transport, Timeout: timeout, CheckRedirect: redirectPolicy(home, headers)},
		maxBytes: int64(maxMB) << 20, retries: retries, tempDir: r.TempDir, accept: accept(src.Format),
		now: r.now, sleep: sleep, log: r.logger(),
	}, nil
}

func accept(format string) string {
	if format == "csv" {
		return "text/csv, */*;q=0.5"
	}
	return "application/json, */*;q=0.5"
}

// redirectPolicy refuses long redirect chains and a redirect from https to http anywhere in
// the chain, which would send the request, and a key in it, in the clear. A redirect to
// another origin than the configured URL's (scheme, host and port) is followed without the
// source's headers: the key was given for that origin only. The client copies the first
// request's headers into every hop before asking, so deleting them here covers each hop.
func redirectPolicy(home string, headers map[string]string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("more than 10 redirects")
		}
		if req.URL.Scheme != "https" {
			for _, prev := range via {
				if prev.URL.Scheme == "https" {
					return fmt.Errorf("refusing a redirect from https to %s: it would be sent in the clear", redact(req.URL.String()))
				}
			}
		}
		if o, err := origin(req.URL.String()); err != nil || o != home {
			for name := range headers {
				req.Header.Del(name)
			}
		}
		return nil
	}
}

func (r *Runner) limiter(src *config.Source) *rate.Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.limiters == nil {
		r.limiters = map[string]*rate.Limiter{}
	}
	per := src.Rate
	if per <= 0 {
		per = DefaultRate
	}
	l, ok := r.limiters[src.Name]
	if !ok || l.Limit() != rate.Limit(per) {
		l = rate.NewLimiter(rate.Limit(per), 1)
		r.limiters[src.Name] = l
	}
	return l
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fieldPaths returns the source's mapping by lead field.
func fieldPaths(src *config.Source) map[leadmailer.Field]string {
	m := map[leadmailer.Field]string{}
	for name, path := range src.Fields {
		if f, ok := leadmailer.ParseField(name); ok {
			m[f] = path
		}
	}
	return m
}

// jsonColumns describes a JSON mapping for the report: path -> field.
func jsonColumns(src *config.Source) []importer.Column {
	var cols []importer.Column
	for _, f := range leadmailer.AllFields() {
		if p, ok := src.Fields[f.String()]; ok {
			cols = append(cols, importer.Column{Index: len(cols) + 1, Header: p, Field: f.String()})
		}
	}
	return cols
}

// importRecords imports what rr yields as one run; its rejected records are stored with it.
func (r *Runner) importRecords(ctx context.Context, src *config.Source, rr importer.RecordReader, fileName, sha string,
	columns []importer.Column) Result {
	rep, err := importer.ImportRecords(ctx, r.Store, rr, importer.RecordOptions{
		Source: src.Name, Kind: r.kind(src), FileName: fileName, FileSHA256: sha, Actor: r.Actor,
		Columns: columns,
	})
	if rep == nil {
		// The run could not even begin; record it, so that the failure shows.
		return r.finished(ctx, src, fileName, sha, r.now(), err)
	}
	if err != nil {
		err = fmt.Errorf("source %s: %w", src.Name, err)
	}
	return Result{Report: rep, Err: err}
}
