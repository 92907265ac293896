package leadmailer

import "time"

// SourceState is what a scheduled source remembers between runs, so that an unchanged source
// costs one request: the validators of the last complete fetch of its first page.
type SourceState struct {
	Source string
	// URL is the first page's URL the validators belong to; a changed URL starts afresh.
	URL          string
	ETag         string
	LastModified string
	UpdatedAt    time.Time
}

// SourceRecord links one accepted row of a scheduled source run (by its row number in the
// run) to the record's identifier at the source and the URL or file it came from.
type SourceRecord struct {
	Row      int64
	RecordID string
	// OriginID is the run's interned origin (see the store's InternOrigin).
	OriginID int64
}
