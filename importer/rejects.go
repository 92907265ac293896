package importer

import (
	"io"

	"github.com/gocarina/gocsv"
	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/csvsafe"
)

// RejectedRow is one line of a rejects file. Its columns carry the field names the importer
// recognises, so a user can fix the values in a spreadsheet and import the file as it is;
// row and reason then show up as unmapped columns and are not stored.
type RejectedRow struct {
	Row        int64  `csv:"row"`
	Reason     string `csv:"reason"`
	Email      string `csv:"email"`
	Name       string `csv:"name"`
	Company    string `csv:"company"`
	Country    string `csv:"country"`
	BusinessID string `csv:"business_id"`
	JobTitle   string `csv:"job_title"`
	Website    string `csv:"website"`
	Phone      string `csv:"phone"`
	City       string `csv:"city"`
}

// rejectWriter buffers rejected rows and writes them with gocsv. Columns the import does not
// map are left out of the rejects file, as they are out of the database. The rows are what
// anyone put in a file or a website form, and rejects files are opened in spreadsheets: cells
// that would start a formula are neutralised (see csvsafe).
type rejectWriter struct {
	out         *csvsafe.Writer
	pending     []RejectedRow
	wroteHeader bool
	err         error
}

func newRejectWriter(w io.Writer) *rejectWriter {
	if w == nil {
		return &rejectWriter{}
	}
	return &rejectWriter{out: csvsafe.NewWriter(w)}
}

// add records a rejected row; m and rec are nil when the row could not even be split into
// fields.
func (rw *rejectWriter) add(row int64, reason string, m *mapping, rec []string) {
	if rw.out == nil {
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
				r.set(leadmailer.Field(t), rec[i])
			}
		}
		if first != "" || last != "" {
			r.Name = first + " " + last
		}
	}
	rw.pending = append(rw.pending, r)
	if len(rw.pending) >= 1000 {
		rw.flush()
	}
}

func (r *RejectedRow) set(f leadmailer.Field, v string) {
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

// flush writes the pending rows; the first error sticks and is returned from then on.
func (rw *rejectWriter) flush() error {
	if rw.out == nil || rw.err != nil || len(rw.pending) == 0 {
		return rw.err
	}
	if rw.wroteHeader {
		rw.err = gocsv.MarshalCSVWithoutHeaders(&rw.pending, rw.out)
	} else {
		rw.err = gocsv.MarshalCSV(&rw.pending, rw.out)
		rw.wroteHeader = true
	}
	rw.pending = rw.pending[:0]
	return rw.err
}
