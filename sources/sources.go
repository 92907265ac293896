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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
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
	// RejectsDir receives a rejects CSV per run that rejects a record; "" discards them.
	RejectsDir string
	// TempDir holds responses while a run fetches them; "" means the system's.
	TempDir string
	Log     *slog.Logger
	// Transport, Now and Sleep replace the network, the clock and waiting, for tests.
	Transport http.RoundTripper
	Now       func() time.Time
	Sleep     func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex
	limiters map[string]*rate.Limiter // per source, kept across runs
}

// Result is what one run of a source did: the import report, as "leadmailer import" prints
// it, the rejects file if a record was rejected, and the error of a failed run.
type Result struct {
	Report      *importer.Report
	RejectsFile string
	Err         error
}

// Run runs src once and returns one result per import run: one for an HTTP source, one per
// new file for a file source (or one unchanged run when there is none). The error is that
// of the first failed run; every run, failed or not, is recorded in the database.
func (r *Runner) Run(ctx context.Context, src *config.Source) ([]Result, error) {
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
		log.Info("source run finished", "run", run.ID, "status", string(run.Status), "file", run.FileName,
			"read", c.Read, "inserted", c.Inserted, "updated", c.Updated, "unchanged", c.Unchanged,
			"rejected", c.Rejected, "suppressed", c.Suppressed, "skipped", c.Skipped)
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
	return &fetcher{
		source: src.Name, headers: headers, limiter: r.limiter(src),
		client:   &http.Client{Transport: transport, Timeout: timeout, CheckRedirect: redirectPolicy(headers)},
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

// redirectPolicy refuses a redirect from https to http, which would send an API key in the
// clear, and long redirect chains; and it drops the source's headers on a redirect to
// another host, which is not the one the key was given for.
func redirectPolicy(headers map[string]string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("more than 10 redirects")
		}
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("refusing a redirect from https to %s", redact(req.URL.String()))
		}
		if req.URL.Host != via[0].URL.Host {
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

// runHTTP fetches every page of an HTTP source into a spool, then imports the spool.
func (r *Runner) runHTTP(ctx context.Context, src *config.Source, log *slog.Logger) Result {
	started := r.now()
	f, err := r.fetcher(src)
	if err != nil {
		return r.finished(ctx, src, redact(src.URL), "", started, err)
	}
	state, err := r.Store.FindSourceState(ctx, src.Name)
	if err != nil {
		return r.finished(ctx, src, redact(src.URL), "", started, err)
	}
	if state.URL != src.URL {
		state = &leadmailer.SourceState{Source: src.Name} // validators of another URL mean nothing
	}
	sp, err := newSpool(r.TempDir)
	if err != nil {
		return r.finished(ctx, src, redact(src.URL), "", started, err)
	}
	defer sp.remove()
	first, layout, err := r.fetchPages(ctx, src, f, state, sp, log)
	if err != nil {
		return r.finished(ctx, src, redact(src.URL), "", started, err)
	}
	if first.status == http.StatusNotModified {
		log.Info("source unchanged since the last run", "url", redact(src.URL))
		return r.finished(ctx, src, redact(src.URL), "", started, nil)
	}
	if err := sp.rewind(); err != nil {
		return r.finished(ctx, src, redact(src.URL), "", started, err)
	}
	res := r.importRecords(ctx, src, sp, redact(src.URL), "", layout.columns)
	if res.Report != nil {
		res.Report.Encoding, res.Report.Delimiter = layout.encoding, layout.delimiter
	}
	if res.Err == nil {
		st := &leadmailer.SourceState{Source: src.Name, URL: src.URL, ETag: first.etag, LastModified: first.lastMo}
		if err := r.Store.SaveSourceState(ctx, st); err != nil {
			res.Err = err
		}
	}
	return res
}

// layout is how the first page was read, for the report.
type layout struct {
	columns             []importer.Column
	encoding, delimiter string
}

// fetchPages fetches the first page, conditionally, and every page after it, writing their
// records to sp. It returns the first page's response (status 304 when unchanged).
func (r *Runner) fetchPages(ctx context.Context, src *config.Source, f *fetcher, state *leadmailer.SourceState,
	sp *spool, log *slog.Logger) (first *response, lay layout, err error) {
	maxPages := src.MaxPages
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	fields := fieldPaths(src)
	u := src.URL
	seen := map[string]bool{}
	offset := 0
	if src.OffsetParam != "" {
		if offset, err = paramValue(u, src.OffsetParam, 0); err != nil {
			return nil, layout{}, err
		}
	}
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, layout{}, fmt.Errorf("more than %d pages: raise max_pages if the source really has that many", maxPages)
		}
		if seen[u] {
			return nil, layout{}, fmt.Errorf("page %d links back to %s, already fetched: the paging never ends", page, redact(u))
		}
		seen[u] = true
		var validators *leadmailer.SourceState
		if page == 1 && (state.ETag != "" || state.LastModified != "") {
			validators = state
		}
		resp, err := f.get(ctx, u, validators)
		if err != nil {
			return nil, layout{}, err
		}
		if page == 1 {
			first = resp
			if resp.status == http.StatusNotModified {
				return first, layout{}, nil
			}
		}
		n, next, pageLay, err := r.pageToSpool(src, fields, resp, page, sp)
		resp.close()
		if err != nil {
			return nil, layout{}, fmt.Errorf("page %d, %s: %w", page, redact(u), err)
		}
		if page == 1 {
			lay = pageLay
		}
		log.Debug("source page fetched", "page", page, "url", redact(u), "records", n)
		switch {
		case next != "":
			u = next
		case src.PageParam != "" && n > 0:
			p, err := paramValue(u, src.PageParam, 1)
			if err != nil {
				return nil, layout{}, err
			}
			if u, err = withParam(u, src.PageParam, p+1); err != nil {
				return nil, layout{}, err
			}
		case src.OffsetParam != "" && n > 0:
			offset += n
			if u, err = withParam(u, src.OffsetParam, offset); err != nil {
				return nil, layout{}, err
			}
		default:
			return first, lay, nil
		}
	}
}

// pageToSpool reads one page's records into sp and finds the next page's URL in a Link
// header or, for JSON, at next_field.
func (r *Runner) pageToSpool(src *config.Source, fields map[leadmailer.Field]string, resp *response, page int,
	sp *spool) (n int, next string, lay layout, err error) {
	next = linkNext(resp.header, resp.url)
	switch src.Format {
	case "csv":
		cr, err := importer.NewCSVRecords(resp.body, src.Fields, src.IDField, resp.url, resp.retrievedAt)
		if err != nil {
			return 0, "", layout{}, err
		}
		for {
			rec, err := cr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return 0, "", layout{}, err
			}
			rec.Where = fmt.Sprintf("page %d %s", page, rec.Where)
			if err := sp.add(rec); err != nil {
				return 0, "", layout{}, err
			}
			n++
		}
		return n, next, layout{cr.Columns(), cr.Encoding, cr.Delimiter}, nil
	case "json":
		data, err := io.ReadAll(resp.body)
		if err != nil {
			return 0, "", layout{}, err
		}
		root, err := decodeJSON(data)
		if err != nil {
			return 0, "", layout{}, err
		}
		recs, err := pageRecords(root, src.Records)
		if err != nil {
			return 0, "", layout{}, err
		}
		for i, v := range recs {
			rec := jsonRecord(v, fields, src.IDField)
			rec.Origin, rec.RetrievedAt = resp.url, resp.retrievedAt
			rec.Where = fmt.Sprintf("page %d record %d", page, i+1)
			if err := sp.add(rec); err != nil {
				return 0, "", layout{}, err
			}
		}
		if next == "" && src.NextField != "" {
			if v, ok := lookup(root, src.NextField); ok && v != nil {
				s, isString := v.(string)
				if !isString {
					return 0, "", layout{}, fmt.Errorf("next_field = %q holds %s, not a URL", src.NextField, kindOf(v))
				}
				if s != "" {
					if next = resolve(resp.url, s); next == "" {
						return 0, "", layout{}, fmt.Errorf("next_field = %q holds %q, not an http(s) URL", src.NextField, s)
					}
				}
			}
		}
		return len(recs), next, layout{jsonColumns(src), "utf-8", ""}, nil
	}
	return 0, "", layout{}, fmt.Errorf("format %q is neither json nor csv", src.Format)
}

// importRecords imports what rr yields as one run, with a rejects file when needed.
func (r *Runner) importRecords(ctx context.Context, src *config.Source, rr importer.RecordReader, fileName, sha string,
	columns []importer.Column) Result {
	rejects := &lazyFile{}
	if r.RejectsDir != "" {
		rejects.path = filepath.Join(r.RejectsDir, src.Name+"-"+r.now().UTC().Format("20060102-150405")+".csv")
	}
	var w io.Writer
	if rejects.path != "" {
		w = rejects
	}
	rep, err := importer.ImportRecords(ctx, r.Store, rr, importer.RecordOptions{
		Source: src.Name, Kind: r.kind(src), FileName: fileName, FileSHA256: sha, Actor: r.Actor,
		Rejects: w, Columns: columns,
	})
	if cerr := rejects.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("write rejects file: %w", cerr)
	}
	if err != nil {
		err = fmt.Errorf("source %s: %w", src.Name, err)
	}
	if rep == nil {
		// The run could not even begin; record it, so that the failure shows.
		return r.finished(ctx, src, fileName, sha, r.now(), err)
	}
	return Result{Report: rep, RejectsFile: rejects.created(), Err: err}
}

// runFiles imports each file matching the source's path or glob that it has not imported
// before, one run per file, oldest name first.
func (r *Runner) runFiles(ctx context.Context, src *config.Source, log *slog.Logger) []Result {
	started := r.now()
	matches, err := filepath.Glob(src.Path)
	if err != nil {
		return []Result{r.finished(ctx, src, src.Path, "", started, fmt.Errorf("path %q: %w", src.Path, err))}
	}
	var files []string
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			files = append(files, m)
		}
	}
	if len(files) == 0 {
		return []Result{r.finished(ctx, src, src.Path, "", started,
			fmt.Errorf("no file matches %s: check path, and that the files are readable", src.Path))}
	}
	var results []Result
	for _, path := range files {
		if ctx.Err() != nil {
			break
		}
		sum, err := fileSHA256(path)
		if err != nil {
			results = append(results, r.finished(ctx, src, path, "", r.now(), err))
			continue
		}
		done, err := r.Store.FileImported(ctx, src.Name, sum)
		if err != nil {
			results = append(results, r.finished(ctx, src, path, sum, r.now(), err))
			continue
		}
		if done {
			log.Debug("file already imported", "file", path, "sha256", sum)
			continue
		}
		results = append(results, r.importFile(ctx, src, path, sum))
	}
	if len(results) == 0 {
		log.Info("no new file since the last run", "path", src.Path)
		results = append(results, r.finished(ctx, src, src.Path, "", started, nil))
	}
	return results
}

func (r *Runner) importFile(ctx context.Context, src *config.Source, path, sum string) Result {
	started := r.now()
	fi, err := os.Stat(path)
	if err != nil {
		return r.finished(ctx, src, path, sum, started, err)
	}
	retrieved := fi.ModTime().UTC()
	f, err := os.Open(path)
	if err != nil {
		return r.finished(ctx, src, path, sum, started, err)
	}
	defer f.Close()
	switch src.Format {
	case "csv":
		cr, err := importer.NewCSVRecords(f, src.Fields, src.IDField, path, retrieved)
		if err != nil {
			return r.finished(ctx, src, path, sum, started, fmt.Errorf("%s: %w", path, err))
		}
		res := r.importRecords(ctx, src, cr, path, sum, cr.Columns())
		if res.Report != nil {
			res.Report.Encoding, res.Report.Delimiter = cr.Encoding, cr.Delimiter
		}
		return res
	case "json":
		maxMB := src.MaxMB
		if maxMB <= 0 {
			maxMB = DefaultMaxMB
		}
		if fi.Size() > int64(maxMB)<<20 {
			return r.finished(ctx, src, path, sum, started, fmt.Errorf("%s: larger than %d MiB: raise max_mb", path, maxMB))
		}
		data, err := io.ReadAll(f)
		if err != nil {
			return r.finished(ctx, src, path, sum, started, err)
		}
		root, err := decodeJSON(data)
		if err != nil {
			return r.finished(ctx, src, path, sum, started, fmt.Errorf("%s: %w", path, err))
		}
		recs, err := pageRecords(root, src.Records)
		if err != nil {
			return r.finished(ctx, src, path, sum, started, fmt.Errorf("%s: %w", path, err))
		}
		fields := fieldPaths(src)
		rr := &sliceReader{}
		for i, v := range recs {
			rec := jsonRecord(v, fields, src.IDField)
			rec.Origin, rec.RetrievedAt, rec.Where = path, retrieved, fmt.Sprintf("record %d", i+1)
			rr.recs = append(rr.recs, rec)
		}
		res := r.importRecords(ctx, src, rr, path, sum, jsonColumns(src))
		if res.Report != nil {
			res.Report.Encoding = "utf-8"
		}
		return res
	}
	return r.finished(ctx, src, path, sum, started, fmt.Errorf("format %q is neither json nor csv", src.Format))
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type sliceReader struct{ recs []*importer.Record }

func (s *sliceReader) Next() (*importer.Record, error) {
	if len(s.recs) == 0 {
		return nil, io.EOF
	}
	r := s.recs[0]
	s.recs = s.recs[1:]
	return r, nil
}

// spool holds a run's fetched records in a temporary file, one JSON object per line, so that
// a source with a million records costs disk, not memory, until every page has arrived.
type spool struct {
	f   *os.File
	enc *json.Encoder
	dec *json.Decoder
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "leadmailer-spool-*")
	if err != nil {
		return nil, fmt.Errorf("create spool: %w", err)
	}
	return &spool{f: f, enc: json.NewEncoder(f)}, nil
}

func (s *spool) add(r *importer.Record) error { return s.enc.Encode(r) }

func (s *spool) rewind() error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	s.dec = json.NewDecoder(s.f)
	return nil
}

func (s *spool) Next() (*importer.Record, error) {
	var r importer.Record
	if err := s.dec.Decode(&r); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read spool: %w", err)
	}
	return &r, nil
}

func (s *spool) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// lazyFile creates its file on the first write, so that a run without rejects leaves no
// empty file; it never overwrites, adding a number to the name instead.
type lazyFile struct {
	path string
	f    *os.File
	err  error
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil && l.err == nil {
		l.f, l.err = createUnique(l.path)
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.f.Write(p)
}

func createUnique(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	ext := filepath.Ext(path)
	base := strings.TrimSuffix(path, ext)
	for i := 1; ; i++ {
		p := path
		if i > 1 {
			p = fmt.Sprintf("%s-%d%s", base, i, ext)
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, os.ErrExist) || i >= 1000 {
			return f, err
		}
	}
}

func (l *lazyFile) created() string {
	if l.f == nil {
		return ""
	}
	return l.f.Name()
}

func (l *lazyFile) Close() error {
	if l.f == nil {
		return l.err
	}
	err := l.f.Close()
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}
