package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/leadmailer/leadmailer"
)

// Record is one record of a scheduled source, its values already picked out of the JSON
// object or CSV line by the source's field mapping.
type Record struct {
	// Raw holds the values as received, indexed by field; "" means not supplied.
	Raw leadmailer.Values
	// ID is the record's identifier at the source (its id_field); may be empty.
	ID string
	// Origin is the URL or file the record came from, and RetrievedAt when it was fetched.
	Origin      string
	RetrievedAt time.Time
	// Where locates the record in its origin for the rejects file, e.g. "page 3 record 17".
	Where string
	// Err, when set, says why the record could not be read; it is rejected with this reason.
	Err string
}

// RecordReader yields a source's records; Next returns io.EOF after the last one.
type RecordReader interface {
	Next() (*Record, error)
}

// RecordStore is what ImportRecords needs of the database beyond Store: finding the leads a
// record without an e-mail address enriches, and recording each row's origin.
type RecordStore interface {
	Store
	FindLeadEmailsByBusinessID(ctx context.Context, ids []string) (map[string][]string, error)
	InternOrigin(ctx context.Context, runID int64, origin string, retrievedAt time.Time) (int64, error)
	RecordSourceRecords(ctx context.Context, runID int64, recs []leadmailer.SourceRecord) error
}

// RecordOptions describe one run of a scheduled source.
type RecordOptions struct {
	Source     string                // source name, required
	Kind       leadmailer.SourceKind // default public
	FileName   string                // the URL or file, for the run's record
	FileSHA256 string                // of the file, for file sources
	Actor      string
	DryRun     bool
	// Rejects, when set, receives the rejected records as CSV too. A run that is not a dry
	// run stores them in any case, with the batch they were read in.
	Rejects io.Writer
	// Columns describe the mapping, for the report.
	Columns []Column
	// BatchSize is the number of rows per transaction; default 10,000.
	BatchSize int
}

// ImportRecords stores the records rr yields as one import run, through the same
// normalisation, validation, deduplication and suppression as a CSV import. A bad record is
// rejected on its own. A record without an e-mail address but with a business ID enriches
// every stored lead with that business ID (the address is then not counted as supplied by
// this source); one that matches no lead is counted as skipped, since a lead needs an
// address. A reading error fails the run after the batches already committed, which hold
// whole records only.
func ImportRecords(ctx context.Context, st RecordStore, rr RecordReader, opts RecordOptions) (*Report, error) {
	start := time.Now()
	if opts.Kind == "" {
		opts.Kind = leadmailer.KindPublic
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 10_000
	}
	run := &leadmailer.ImportRun{
		Source: opts.Source, Kind: opts.Kind, FileName: opts.FileName, FileSHA256: opts.FileSHA256, Actor: opts.Actor,
	}
	w, err := st.BeginImport(ctx, run, opts.DryRun)
	if err != nil {
		return nil, err
	}
	rep := &Report{Run: run, DryRun: opts.DryRun, Encoding: "utf-8", Columns: opts.Columns}
	ri := &recordImport{
		st: st, w: w, opts: &opts, rejects: &rejectList{keep: !opts.DryRun || opts.Rejects != nil},
		rejectsOut: newRejectWriter(opts.Rejects), origins: map[string]int64{}, firstRow: map[string]int{},
	}
	runErr := ri.run(ctx, rr)
	rep.FirstRejects = ri.rejects.first
	status, msg := leadmailer.RunCompleted, ""
	switch {
	case ctx.Err() != nil:
		status, msg = leadmailer.RunFailed, "cancelled before the end of the records; the next run starts again"
	case runErr != nil:
		status, msg = leadmailer.RunFailed, runErr.Error()
	}
	if _, err := w.Finish(ctx, status, msg); err != nil && runErr == nil {
		runErr = err
	}
	rep.Duration = time.Since(start)
	if s := rep.Duration.Seconds(); s > 0 {
		rep.RowsPerS = float64(run.Counts.Read) / s
	}
	if status != leadmailer.RunCompleted {
		return rep, fmt.Errorf("import run %d: %s", run.ID, msg)
	}
	return rep, runErr
}

// recordImport is the state of one ImportRecords call. Records are parsed and written on
// the caller's goroutine: a source's records arrive over the network or from a file already
// read once for its checksum, and are far fewer than an upload's rows.
type recordImport struct {
	st      RecordStore
	w       leadmailer.ImportWriter
	opts    *RecordOptions
	rejects *rejectList

	rejectsOut *rejectWriter
	rows       []leadmailer.ImportRow
	rejected   []RejectedRow // the batch's rejected records
	links      []leadmailer.SourceRecord
	pending    []pendingEnrich // records without an address, resolved when the batch is written
	pre        leadmailer.ImportCounts
	firstRow   map[string]int   // e-mail -> index in rows, for merging duplicates in the batch
	origins    map[string]int64 // origin -> interned ID
	seq        int64            // row numbers within the run
}

type pendingEnrich struct {
	row  leadmailer.ImportRow // without e-mail
	link leadmailer.SourceRecord
}

func (ri *recordImport) run(ctx context.Context, rr RecordReader) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := ri.add(ctx, rec); err != nil {
			return err
		}
		if len(ri.rows)+len(ri.pending) >= ri.opts.BatchSize || len(ri.rejected) >= ri.opts.BatchSize {
			if err := ri.flush(ctx); err != nil {
				return err
			}
		}
	}
	return ri.flush(ctx)
}

// add validates one record and queues it for the batch.
func (ri *recordImport) add(ctx context.Context, rec *Record) error {
	ri.seq++
	ri.pre.Read++
	if rec.Err != "" {
		ri.pre.Rejected++
		ri.reject(rec, rec.Err)
		return nil
	}
	row := leadmailer.ImportRow{Row: ri.seq}
	for _, f := range leadmailer.AllFields() {
		if err := setField(&row, f, rec.Raw[f]); err != nil {
			ri.pre.Rejected++
			ri.reject(rec, fmt.Sprintf("%s: %v", f, err))
			return nil
		}
	}
	if !row.Supplied.Has(leadmailer.FieldEmail) && !row.Supplied.Has(leadmailer.FieldBusinessID) {
		ri.pre.Rejected++
		ri.reject(rec, "neither an e-mail address nor a business ID: the record can neither make a lead nor enrich one")
		return nil
	}
	link := leadmailer.SourceRecord{Row: ri.seq, RecordID: rec.ID}
	if rec.Origin != "" && !ri.opts.DryRun {
		id, ok := ri.origins[rec.Origin]
		if !ok {
			var err error
			if id, err = ri.st.InternOrigin(ctx, ri.w.Run().ID, rec.Origin, rec.RetrievedAt); err != nil {
				return err
			}
			ri.origins[rec.Origin] = id
		}
		link.OriginID = id
	}
	if !row.Supplied.Has(leadmailer.FieldEmail) {
		ri.pending = append(ri.pending, pendingEnrich{row: row, link: link})
		return nil
	}
	ri.queue(row, link)
	return nil
}

// queue adds an accepted row to the batch, merging it into an earlier row of the batch with
// the same address, as the CSV import does.
func (ri *recordImport) queue(row leadmailer.ImportRow, link leadmailer.SourceRecord) {
	email := row.Values[leadmailer.FieldEmail]
	row.EmailHash = ri.w.SuppressionHash(email)
	if i, seen := ri.firstRow[email]; seen {
		mergeInto(&ri.rows[i], &row)
		row.DuplicateInBatch = true
	} else {
		ri.firstRow[email] = len(ri.rows)
	}
	ri.rows = append(ri.rows, row)
	if link.OriginID != 0 {
		ri.links = append(ri.links, link)
	}
}

// flush resolves the batch's records without an address to the leads they enrich and
// writes the batch.
func (ri *recordImport) flush(ctx context.Context) error {
	if len(ri.pending) > 0 {
		ids := make([]string, 0, len(ri.pending))
		for _, p := range ri.pending {
			ids = append(ids, p.row.Values[leadmailer.FieldBusinessID])
		}
		emails, err := ri.st.FindLeadEmailsByBusinessID(ctx, ids)
		if err != nil {
			return err
		}
		for _, p := range ri.pending {
			matches := emails[p.row.Values[leadmailer.FieldBusinessID]]
			if len(matches) == 0 {
				ri.pre.Skipped++
				continue
			}
			// One record enriching several leads counts once per lead, so that every row
			// read still ends in exactly one count.
			ri.pre.Read += int64(len(matches) - 1)
			for i, email := range matches {
				row, link := p.row, p.link
				if i > 0 {
					ri.seq++
					row.Row, link.Row = ri.seq, ri.seq
				}
				// The address identifies the lead; it is not a value this source supplied.
				row.Values[leadmailer.FieldEmail] = email
				ri.queue(row, link)
			}
		}
		ri.pending = ri.pending[:0]
	}
	if len(ri.rows) == 0 && ri.pre == (leadmailer.ImportCounts{}) {
		return nil
	}
	if !ri.opts.DryRun {
		if err := ri.st.RecordSourceRecords(ctx, ri.w.Run().ID, ri.links); err != nil {
			return err
		}
	}
	if _, err := ri.w.WriteBatchRejects(ctx, ri.rows, ri.pre, ri.rejected); err != nil {
		return err
	}
	if err := ri.rejectsOut.write(ri.rejected); err != nil {
		return fmt.Errorf("write rejects: %w", err)
	}
	ri.rows, ri.links, ri.rejected, ri.pre = ri.rows[:0], ri.links[:0], ri.rejected[:0], leadmailer.ImportCounts{}
	clear(ri.firstRow)
	return nil
}

func (ri *recordImport) reject(rec *Record, reason string) {
	if !ri.rejects.keep && len(ri.rejects.first) >= ReportRejects {
		return
	}
	if rec.Where != "" {
		reason = rec.Where + ": " + reason
	}
	if rec.ID != "" {
		reason = "record " + rec.ID + ": " + reason
	}
	r := RejectedRow{Row: ri.seq, Reason: reason}
	for _, f := range leadmailer.AllFields() {
		setRejected(&r, f, rec.Raw[f])
	}
	ri.rejects.addRow(&ri.rejected, r)
}
