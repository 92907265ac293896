package leadmailer

import (
	"context"
	"time"
)

// SourceKind says how a source's data reached us. It decides, among other things, whether a
// marketing mail must carry the public-source notice.
type SourceKind string

// Source kinds.
const (
	KindUpload  SourceKind = "upload"  // a CSV file marketing uploaded
	KindPublic  SourceKind = "public"  // a public database: business registry, open data
	KindWebsite SourceKind = "website" // a query submitted on the company's website
	KindAPI     SourceKind = "api"     // leads a client pushed through the JSON API
)

// Valid reports whether k is one of the known kinds.
func (k SourceKind) Valid() bool {
	return k == KindUpload || k == KindPublic || k == KindWebsite || k == KindAPI
}

// RunStatus is the state of an import run.
type RunStatus string

// Run statuses. A run is "running" until it finishes; one whose process died stays
// "running" in the database and is reported as "interrupted" once it has been silent for
// StaleRunAfter. A scheduled source run whose source has not changed since the last run
// (HTTP 304, or only files already imported) is "unchanged": it read nothing.
const (
	RunRunning     RunStatus = "running"
	RunCompleted   RunStatus = "completed"
	RunFailed      RunStatus = "failed"
	RunInterrupted RunStatus = "interrupted"
	RunUnchanged   RunStatus = "unchanged"
)

// StaleRunAfter is how long a running import may go without committing a batch before it is
// reported as interrupted. Batches commit many times a second, so this is generous.
const StaleRunAfter = 2 * time.Minute

// ImportCounts tallies what an import did with its rows. Every row read ends in exactly one of
// the other counts.
type ImportCounts struct {
	Read       int64 `json:"read"`
	Inserted   int64 `json:"inserted"`
	Updated    int64 `json:"updated"`
	Unchanged  int64 `json:"unchanged"`
	Rejected   int64 `json:"rejected"`
	Suppressed int64 `json:"suppressed"`
	Duplicates int64 `json:"duplicates"`
	// Skipped counts records of a public source that carry no e-mail address and match no
	// stored lead by business ID: there is nothing to enrich, and a lead needs an address.
	Skipped int64 `json:"skipped"`
}

// Add adds o to c.
func (c *ImportCounts) Add(o ImportCounts) {
	c.Read += o.Read
	c.Inserted += o.Inserted
	c.Updated += o.Updated
	c.Unchanged += o.Unchanged
	c.Rejected += o.Rejected
	c.Suppressed += o.Suppressed
	c.Duplicates += o.Duplicates
	c.Skipped += o.Skipped
}

// ImportRun is one import of one file or one fetch of a source.
type ImportRun struct {
	ID         int64      `json:"id"`
	Source     string     `json:"source"`
	Kind       SourceKind `json:"kind"`
	FileName   string     `json:"file_name,omitempty"`
	FileSHA256 string     `json:"file_sha256,omitempty"`
	Actor      string     `json:"actor"`
	StartedAt  time.Time  `json:"started_at"`
	// HeartbeatAt is when the run last committed a batch.
	HeartbeatAt time.Time    `json:"heartbeat_at"`
	FinishedAt  *time.Time   `json:"finished_at,omitempty"`
	Status      RunStatus    `json:"status"`
	Error       string       `json:"error,omitempty"`
	Counts      ImportCounts `json:"counts"`
	// Unmapped lists the input columns that were not stored.
	Unmapped []string `json:"unmapped_columns,omitempty"`
}

// EffectiveStatus is Status, except that a run still marked running whose process has gone
// silent for StaleRunAfter is reported as interrupted.
func (r *ImportRun) EffectiveStatus(now time.Time) RunStatus {
	if r.Status == RunRunning && now.Sub(r.HeartbeatAt) > StaleRunAfter {
		return RunInterrupted
	}
	return r.Status
}

// ImportRow is one accepted input record, ready to store.
type ImportRow struct {
	// Row is where the record starts in its input: the line number in a CSV file.
	Row int64
	// Values are normalised; only fields in Supplied are set.
	Values Values
	// Received holds the supplied fields exactly as they arrived, before normalisation.
	Received Values
	Supplied FieldSet
	// EmailHash is the suppression hash of the normalised e-mail (see ImportWriter).
	EmailHash string
	// DuplicateInBatch marks a second or later row with the same e-mail in one batch. The
	// importer has already merged its values into the batch's first row for that e-mail.
	DuplicateInBatch bool
}

// ImportWriter stores the accepted rows of one import run, batch by batch. Each batch is
// committed whole or not at all, together with the run's counts, so a crash leaves the
// database consistent and the run's counts matching what was stored. A store that writes a
// batch in shares over several connections commits each share so, with its counts; rows
// with the same e-mail address are always in one share.
type ImportWriter interface {
	// SuppressionHash returns the keyed hash of a normalised address under which it would be
	// suppressed. Importers compute it for each row while parsing, so that the hashing runs
	// on the parsing core rather than the writing one.
	SuppressionHash(normalizedEmail string) string
	// Run returns the run being written.
	Run() *ImportRun
	// WriteBatch stores rows and adds pre (rows read and rejected by the caller) to the
	// run's counts, returning the counts of this batch including pre: on an error, those of
	// the shares that were committed, if any.
	WriteBatch(ctx context.Context, rows []ImportRow, pre ImportCounts) (ImportCounts, error)
	// WriteBatchRejects is WriteBatch that also stores rejects, the rows the caller refused
	// while reading the batch (counted in pre.Rejected), in the batch's transaction: whatever
	// stops an import, the stored rejects are those of the committed batches. A dry run
	// stores none.
	WriteBatchRejects(ctx context.Context, rows []ImportRow, pre ImportCounts, rejects []RejectedRow) (ImportCounts, error)
	// Finish records the final status. errMsg is empty unless status is RunFailed.
	Finish(ctx context.Context, status RunStatus, errMsg string) (*ImportRun, error)
}

// RejectedRow is one row an import refused, with the reason, and the values of the fields
// the import maps as they arrived. Its CSV columns carry the field names the importer
// recognises, so a user can fix the values in a spreadsheet and import the file as it is;
// row and reason then show up as unmapped columns and are not stored.
type RejectedRow struct {
	// Row is where the row starts in its input: the line number in a CSV file, the
	// record's number in a scheduled source's run.
	Row        int64  `csv:"row" json:"row"`
	Reason     string `csv:"reason" json:"reason"`
	Email      string `csv:"email" json:"email,omitempty"`
	Name       string `csv:"name" json:"name,omitempty"`
	Company    string `csv:"company" json:"company,omitempty"`
	Country    string `csv:"country" json:"country,omitempty"`
	BusinessID string `csv:"business_id" json:"business_id,omitempty"`
	JobTitle   string `csv:"job_title" json:"job_title,omitempty"`
	Website    string `csv:"website" json:"website,omitempty"`
	Phone      string `csv:"phone" json:"phone,omitempty"`
	City       string `csv:"city" json:"city,omitempty"`
}

// Observation is one row of provenance: a run supplied these values for this lead.
type Observation struct {
	LeadID     int64      `json:"-"`
	RunID      int64      `json:"run_id"`
	Row        int64      `json:"row"`
	Source     string     `json:"source"`
	Kind       SourceKind `json:"kind"`
	FileName   string     `json:"file_name,omitempty"`
	ObservedAt time.Time  `json:"observed_at"`
	Supplied   FieldSet   `json:"-"`
	// Received maps field name to the value as received.
	Received map[string]string `json:"received"`
	// RecordID is the record's identifier at a scheduled source (its id_field, such as a
	// business ID); empty for uploads.
	RecordID string `json:"record_id,omitempty"`
	// Origin is the URL or file the record came from, and RetrievedAt when it was fetched;
	// set for scheduled source runs only.
	Origin      string     `json:"origin,omitempty"`
	RetrievedAt *time.Time `json:"retrieved_at,omitempty"`
}
