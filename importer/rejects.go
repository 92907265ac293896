package importer

import (
	"io"
	"strconv"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/csvsafe"
)

// RejectedRow is one row an import refused: one line of a rejects file, one row of the
// store's import_rejects.
type RejectedRow = leadmailer.RejectedRow

// ReportRejects is how many of its first rejected rows a Report holds, for a report to show
// what went wrong without the download.
const ReportRejects = 5

// rejectList collects the rows an import refuses: the first few for the report, and, unless a
// dry run writes them nowhere, every one for the batch it was read in, which stores them in
// the batch's transaction. It is owned by the goroutine that reads the input.
type rejectList struct {
	keep  bool          // collect every row into the batch
	first []RejectedRow // the first ReportRejects rows
}

// add records a rejected row on *to; m and rec are nil when the row could not even be split
// into fields.
func (rs *rejectList) add(to *[]RejectedRow, row int64, reason string, m *mapping, rec []string) {
	if !rs.keep && len(rs.first) >= ReportRejects {
		return
	}
	r := RejectedRow{Row: row, Reason: reason}
	if m != nil && len(rec) == len(m.targets) {
		var first, last string
		for i, t := range m.targets {
			switch t {
			case ignore:
			case firstName:
				first = rec[i]
			case lastName:
				last = rec[i]
			default:
				setRejected(&r, leadmailer.Field(t), rec[i])
			}
		}
		if first != "" || last != "" {
			r.Name = first + " " + last
		}
	}
	rs.addRow(to, r)
}

// addRow records r on *to.
func (rs *rejectList) addRow(to *[]RejectedRow, r RejectedRow) {
	if len(rs.first) < ReportRejects {
		rs.first = append(rs.first, r)
	}
	if rs.keep {
		*to = append(*to, r)
	}
}

func setRejected(r *RejectedRow, f leadmailer.Field, v string) {
	switch f {
	case leadmailer.FieldEmail:
		r.Email = v
	case leadmailer.FieldName:
		r.Name = v
	case leadmailer.FieldCompany:
		r.Company = v
	case leadmailer.FieldCountry:
		r.Country = v
	case leadmailer.FieldBusinessID:
		r.BusinessID = v
	case leadmailer.FieldJobTitle:
		r.JobTitle = v
	case leadmailer.FieldWebsite:
		r.Website = v
	case leadmailer.FieldPhone:
		r.Phone = v
	case leadmailer.FieldCity:
		r.City = v
	}
}

// RejectsHeader is the header row of a rejects file: the CSV columns of RejectedRow.
var RejectsHeader = []string{"row", "reason", "email", "name", "company", "country", "business_id", "job_title", "website", "phone", "city"}

// RejectsCSV writes rejected rows as a rejects file, the header first, one row at a time.
// Columns the import does not map are left out of it, as they are out of the database. The
// rows are what anyone put in a file or a website form, and rejects files are opened in
// spreadsheets: cells that would start a formula are neutralised (see csvsafe). Like a
// csv.Writer it buffers: call Flush at the end.
type RejectsCSV struct {
	out         *csvsafe.Writer
	wroteHeader bool
	rec         []string
}

// NewRejectsCSV returns a RejectsCSV writing to w.
func NewRejectsCSV(w io.Writer) *RejectsCSV {
	return &RejectsCSV{out: csvsafe.NewWriter(w), rec: make([]string, len(RejectsHeader))}
}

// WriteHeader writes the header, unless it is written already: a file of no rows is then
// the header alone.
func (c *RejectsCSV) WriteHeader() error {
	if c.wroteHeader {
		return nil
	}
	c.wroteHeader = true
	return c.out.Write(RejectsHeader)
}

// Write writes r, after the header if it is the first row.
func (c *RejectsCSV) Write(r *RejectedRow) error {
	if err := c.WriteHeader(); err != nil {
		return err
	}
	v := c.rec
	v[0], v[1], v[2], v[3], v[4], v[5] = strconv.FormatInt(r.Row, 10), r.Reason, r.Email, r.Name, r.Company, r.Country
	v[6], v[7], v[8], v[9], v[10] = r.BusinessID, r.JobTitle, r.Website, r.Phone, r.City
	return c.out.Write(v)
}

// Flush writes what is buffered and returns the first error of any write.
func (c *RejectsCSV) Flush() error {
	c.out.Flush()
	return c.out.Error()
}

// rejectWriter writes an import's rejected rows to Options.Rejects, batch by batch; it
// writes nothing when there is no such writer.
type rejectWriter struct {
	out *RejectsCSV
	err error
}

func newRejectWriter(w io.Writer) *rejectWriter {
	if w == nil {
		return &rejectWriter{}
	}
	return &rejectWriter{out: NewRejectsCSV(w)}
}

// write writes rows; the first error sticks and is returned from then on.
func (rw *rejectWriter) write(rows []RejectedRow) error {
	if rw.out == nil || rw.err != nil || len(rows) == 0 {
		return rw.err
	}
	for i := range rows {
		if rw.err = rw.out.Write(&rows[i]); rw.err != nil {
			return rw.err
		}
	}
	rw.err = rw.out.Flush()
	return rw.err
}
