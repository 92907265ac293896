// Package importer reads lead records, normalises and validates them, and writes them through
// a leadmailer.ImportWriter with their provenance. It reads CSV in any common spreadsheet
// encoding and delimiter, in constant memory: one goroutine parses while the caller's goroutine
// writes the previous batch, so parsing and the database each keep one core busy.
//
// An Import call is independent of any other; several may run at once against one store,
// which serialises their writes.
package importer

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/leadmailer/leadmailer"
)

// Store is what the importer needs of the database.
type Store interface {
	BeginImport(ctx context.Context, run *leadmailer.ImportRun, dryRun bool) (leadmailer.ImportWriter, error)
}

// Options describe one import.
type Options struct {
	Source   string                // source name, required
	Kind     leadmailer.SourceKind // default upload
	FileName string
	Actor    string
	// Map overrides header matching: header -> field (see ParseMap).
	Map map[string]string
	// Delimiter and Encoding override detection when set.
	Delimiter string
	Encoding  string
	// DryRun stores nothing: the report says what the import would do.
	DryRun bool
	// Rejects, when set, receives the rejected rows as CSV too. A run that is not a dry run
	// stores them in any case, with the batch they were read in.
	Rejects io.Writer
	// Size is the input's size in bytes when known, for progress.
	Size int64
	// Progress, when set, is called after each committed batch.
	Progress func(Progress)
	// BatchSize is the number of rows per transaction. Default 10,000: smaller batches pay
	// for more commits, larger ones gain nothing and hold more memory.
	BatchSize int
}

// Progress reports how far an import has got.
type Progress struct {
	BytesRead int64
	Size      int64
	Counts    leadmailer.ImportCounts
}

// Report says what an import did.
type Report struct {
	Run       *leadmailer.ImportRun `json:"run"`
	DryRun    bool                  `json:"dry_run"`
	Encoding  string                `json:"encoding"`
	Delimiter string                `json:"delimiter"`
	Columns   []Column              `json:"columns"`
	Unmapped  []string              `json:"unmapped_columns"`
	Duration  time.Duration         `json:"duration_ns"`
	RowsPerS  float64               `json:"rows_per_second"`
	// FirstRejects are the run's first rejected rows, up to ReportRejects of them; the
	// store holds them all, unless this was a dry run.
	FirstRejects []RejectedRow `json:"first_rejects,omitempty"`
}

// batch is what the parser hands the writer.
type batch struct {
	rows    []leadmailer.ImportRow
	pre     leadmailer.ImportCounts // rows read and rejected while filling this batch
	rejects []RejectedRow           // the rows rejected while filling this batch
	err     error                   // set on the last batch when reading failed
}

// Import reads CSV from r and stores its rows. A bad row is rejected on its own (stored
// with its batch, and written to opts.Rejects) and the import goes on; only an unreadable
// input or header, or a database failure, fails the run. Every batch is committed whole, so whatever stops an import, the
// database holds complete batches and the run's counts match them; running the import again
// completes it.
func Import(ctx context.Context, st Store, r io.Reader, opts Options) (*Report, error) {
	start := time.Now()
	if opts.Kind == "" {
		opts.Kind = leadmailer.KindUpload
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 10_000
	}
	counter := &countingReader{r: r}
	sum := sha256.New()
	in, err := openCSV(io.TeeReader(counter, sum), opts.Encoding, opts.Delimiter)
	if err != nil {
		return nil, err
	}
	cr, header, enc, delim := in.cr, in.header, in.encoding, in.delim
	cr.ReuseRecord = true
	m, err := mapHeader(header, opts.Map)
	if err != nil {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "%v", err)
	}
	rep := &Report{
		DryRun: opts.DryRun, Encoding: enc, Delimiter: delimiterName(delim),
		Columns: m.columns, Unmapped: m.unmapped,
	}
	run := &leadmailer.ImportRun{
		Source: opts.Source, Kind: opts.Kind, FileName: opts.FileName, Actor: opts.Actor,
		Unmapped: m.unmapped,
	}
	w, err := st.BeginImport(ctx, run, opts.DryRun)
	if err != nil {
		return nil, err
	}
	rep.Run = run

	rejects := &rejectList{keep: !opts.DryRun || opts.Rejects != nil}
	rejectsOut := newRejectWriter(opts.Rejects)
	batches := make(chan *batch, 1)
	free := make(chan *batch, 2)
	for range 2 {
		free <- &batch{rows: make([]leadmailer.ImportRow, 0, opts.BatchSize)}
	}
	parseCtx, stopParsing := context.WithCancel(ctx)
	defer stopParsing()
	go parse(parseCtx, in, m, w.SuppressionHash, opts.BatchSize, rejects, batches, free)

	var writeErr error
	for b := range batches {
		if writeErr == nil && b.err == nil {
			_, writeErr = w.WriteBatchRejects(ctx, b.rows, b.pre, b.rejects)
			if writeErr == nil {
				if err := rejectsOut.write(b.rejects); err != nil {
					writeErr = fmt.Errorf("write rejects: %w", err)
				}
			}
			if opts.Progress != nil && writeErr == nil {
				opts.Progress(Progress{BytesRead: counter.n.Load(), Size: opts.Size, Counts: run.Counts})
			}
		}
		if b.err != nil && writeErr == nil {
			writeErr = b.err
		}
		if writeErr != nil {
			stopParsing()
		}
		b.rows, b.pre, b.rejects, b.err = b.rows[:0], leadmailer.ImportCounts{}, b.rejects[:0], nil
		select {
		case free <- b:
		default:
		}
	}
	// The parser has closed batches: the first rejects are all there.
	rep.FirstRejects = rejects.first
	if writeErr == nil {
		// Drain what the CSV reader left unread, so the checksum covers the whole file.
		io.Copy(io.Discard, in.text)
		run.FileSHA256 = hex.EncodeToString(sum.Sum(nil))
	}
	status, msg := leadmailer.RunCompleted, ""
	switch {
	case ctx.Err() != nil:
		status, msg = leadmailer.RunFailed, "cancelled before the end of the input; run the import again to finish it"
	case writeErr != nil:
		status, msg = leadmailer.RunFailed, writeErr.Error()
	}
	if _, err := w.Finish(ctx, status, msg); err != nil && writeErr == nil {
		writeErr = err
	}
	rep.Duration = time.Since(start)
	if s := rep.Duration.Seconds(); s > 0 {
		rep.RowsPerS = float64(run.Counts.Read) / s
	}
	if status != leadmailer.RunCompleted {
		return rep, fmt.Errorf("import run %d: %s", run.ID, msg)
	}
	return rep, writeErr
}

// parse reads records into batches until the input ends, ctx is cancelled, or reading fails.
// Rows with the same e-mail within one batch are merged into the first, later non-empty values
// winning, so that one upsert per lead suffices; duplicates across batches the store detects.
// A batch also goes when it holds size rejected rows, so that however many rows a file has
// wrong, no more than a batch's worth waits in memory.
func parse(ctx context.Context, in *csvInput, m *mapping, hash func(string) string, size int, rejects *rejectList,
	batches chan<- *batch, free <-chan *batch) {
	defer close(batches)
	var b *batch
	firstRow := map[string]int{}
	next := func() bool {
		select {
		case b = <-free:
			clear(firstRow)
			return true
		case <-ctx.Done():
			return false
		}
	}
	if !next() {
		return
	}
	send := func() bool {
		select {
		case batches <- b:
			return next()
		case <-ctx.Done():
			return false
		}
	}
	// reject records a rejected row, and sends the batch once it holds size of them; false
	// means the import was cancelled.
	reject := func(line int64, reason string, mapped *mapping, rec []string) bool {
		b.pre.Rejected++
		rejects.add(&b.rejects, line, reason, mapped, rec)
		return len(b.rejects) < size || send()
	}
	cr := in.cr
	for {
		rec, info, err := in.read()
		if info.over != nil {
			b.pre.Read++
			if !reject(int64(info.line), info.over.Error(), nil, nil) {
				return
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				b.err = fmt.Errorf("read input: %w", err)
				batches <- b
				return
			}
			b.pre.Read++
			if !reject(int64(pe.StartLine), csvErrorReason(pe), nil, nil) {
				return
			}
			continue
		}
		if isBlank(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		b.pre.Read++
		if info.badByte >= 0 {
			if !reject(int64(line), badByteReason(info.badByte), m, rec) {
				return
			}
			continue
		}
		b.rows = b.rows[:len(b.rows)+1]
		row := &b.rows[len(b.rows)-1]
		*row = leadmailer.ImportRow{Row: int64(line)}
		if err := m.parseRecord(rec, row); err != nil {
			b.rows = b.rows[:len(b.rows)-1]
			if !reject(int64(line), err.Error(), m, rec) {
				return
			}
			continue
		}
		email := row.Values[leadmailer.FieldEmail]
		row.EmailHash = hash(email)
		if i, seen := firstRow[email]; seen {
			mergeInto(&b.rows[i], row)
			row.DuplicateInBatch = true
		} else {
			firstRow[email] = len(b.rows) - 1
		}
		if len(b.rows) == cap(b.rows) {
			if !send() {
				return
			}
		}
	}
	if len(b.rows) > 0 || b.pre.Read > 0 {
		select {
		case batches <- b:
		case <-ctx.Done():
		}
	}
}

// mergeInto copies dup's supplied values into first, the row that will be upserted.
func mergeInto(first, dup *leadmailer.ImportRow) {
	for _, f := range dup.Supplied.Fields() {
		first.Values[f] = dup.Values[f]
	}
}

func isBlank(rec []string) bool {
	for _, v := range rec {
		for i := 0; i < len(v); i++ {
			if v[i] != ' ' && v[i] != '\t' {
				return false
			}
		}
	}
	return true
}

func csvErrorReason(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf("unclosed or stray quote (line %d, column %d): a value with quotes must be wrapped in quotes, and inner quotes doubled", pe.Line, pe.Column)
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf("stray quote in an unquoted value (line %d, column %d): wrap the value in quotes and double the inner quote", pe.Line, pe.Column)
	}
	return pe.Error()
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
