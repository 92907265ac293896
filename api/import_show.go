package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/csvsafe"
	"github.com/leadmailer/leadmailer/importer"
)

// findRun returns the import run named by the path's {id}.
func (s *Server) findRun(r *http.Request) (*leadmailer.ImportRun, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no import run %q", r.PathValue("id"))
	}
	return s.db.FindImportRun(r.Context(), id)
}

// importShow answers one import run: its source, status and counts. It names no person.
func (s *Server) importShow(w http.ResponseWriter, r *http.Request, c *call) error {
	run, err := s.findRun(r)
	if err != nil {
		return err
	}
	// A run whose process died stays "running" in the database; say what the web app says.
	run.Status = run.EffectiveStatus(s.opts.Now())
	writeJSON(w, http.StatusOK, run)
	return nil
}

// rejectedRow is one rejected row, as the rejects file holds it: its number in the file,
// why it was refused, and its mapped values.
type rejectedRow struct {
	Row        int64  `json:"row"`
	Reason     string `json:"reason"`
	Email      string `json:"email,omitempty"`
	Name       string `json:"name,omitempty"`
	Company    string `json:"company,omitempty"`
	Country    string `json:"country,omitempty"`
	BusinessID string `json:"business_id,omitempty"`
	JobTitle   string `json:"job_title,omitempty"`
	Website    string `json:"website,omitempty"`
	Phone      string `json:"phone,omitempty"`
	City       string `json:"city,omitempty"`
}

// Page sizes of GET /api/v1/imports/{id}/rejects.
const (
	defaultRejectLimit = 100
	maxRejectLimit     = 1000
)

// rejectPage is the answer of GET /api/v1/imports/{id}/rejects.
type rejectPage struct {
	Rejects []rejectedRow `json:"rejects"`
	// NextCursor, given as ?after=, fetches the next page; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// importRejects answers a run's rejected rows with the reason for each, a page at a time,
// from the database: after= is the next_cursor of the previous page. A run of an older
// version, which kept its rejects in a file of the data directory, is answered from that
// file, where the cursor is the row number of the last row of the previous page. They hold
// personal data, so each read is recorded as the web app records the download. The values
// are those of the rejects file, which a spreadsheet opens: one that would start a formula
// there has a single quote in front.
func (s *Server) importRejects(w http.ResponseWriter, r *http.Request, c *call) error {
	run, err := s.findRun(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var after int64
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return fieldErrorf("after", "after %q: give the next_cursor of the previous page", v)
		}
	}
	limit := defaultRejectLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRejectLimit {
			return fieldErrorf("limit", "limit %q: give a number from 1 to %d", v, maxRejectLimit)
		}
		limit = n
	}
	page := rejectPage{Rejects: []rejectedRow{}}
	stored, err := s.db.CountImportRejects(r.Context(), run.ID)
	if err != nil {
		return err
	}
	var legacy *os.File
	if stored == 0 && s.opts.DataDir != "" {
		legacy, err = os.Open(importer.LegacyRejectsPath(s.opts.DataDir, run.ID))
		switch {
		case os.IsNotExist(err):
			legacy = nil
		case err != nil:
			return err
		default:
			defer legacy.Close()
		}
	}
	switch {
	case stored == 0 && legacy == nil && run.Counts.Rejected == 0:
		writeJSON(w, http.StatusOK, page)
		return nil
	case stored == 0 && legacy == nil:
		return leadmailer.Errorf(leadmailer.ENOTFOUND, "import run %d rejected %d rows, but none of them is stored any more: retention deletes rejected rows after retention.rejects (30 days by default), erasure deletes a person's, and an older version kept those of command-line and scheduled imports in files of their own", run.ID, run.Counts.Rejected)
	}
	detail := ""
	if after > 0 {
		detail = "after=" + strconv.FormatInt(after, 10)
	}
	if err := s.audit(r, c, leadmailer.AuditRejectsGet, fmt.Sprintf("run %d", run.ID), detail); err != nil {
		return err
	}
	if legacy != nil {
		if page.Rejects, page.NextCursor, err = readRejects(legacy, after, limit); err != nil {
			return fmt.Errorf("read rejects of run %d: %w", run.ID, err)
		}
		writeJSON(w, http.StatusOK, page)
		return nil
	}
	// One more than the page, to know whether another follows.
	rows, err := s.db.FindImportRejects(r.Context(), run.ID, after, limit+1)
	if err != nil {
		return err
	}
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = strconv.FormatInt(rows[limit-1].ID, 10)
	}
	for _, row := range rows {
		page.Rejects = append(page.Rejects, rejectedRow{Row: row.Row, Reason: csvsafe.Cell(row.Reason),
			Email: csvsafe.Cell(row.Email), Name: csvsafe.Cell(row.Name), Company: csvsafe.Cell(row.Company),
			Country: csvsafe.Cell(row.Country), BusinessID: csvsafe.Cell(row.BusinessID), JobTitle: csvsafe.Cell(row.JobTitle),
			Website: csvsafe.Cell(row.Website), Phone: csvsafe.Cell(row.Phone), City: csvsafe.Cell(row.City)})
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// readRejects reads up to limit rows after row number after from a rejects file an older
// version left, and the cursor of the next page.
func readRejects(in io.Reader, after int64, limit int) ([]rejectedRow, string, error) {
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return []rejectedRow{}, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	rows := []rejectedRow{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, "", nil
		}
		if err != nil {
			return nil, "", err
		}
		row := readRejectedRow(header, rec)
		if row.Row <= after {
			continue
		}
		if len(rows) == limit {
			return rows, strconv.FormatInt(rows[limit-1].Row, 10), nil
		}
		rows = append(rows, row)
	}
}

// readRejectedRow reads one record of a rejects file by its header's column names.
func readRejectedRow(header, rec []string) rejectedRow {
	var row rejectedRow
	for i, name := range header {
		if i >= len(rec) {
			break
		}
		// A file of an older version still may not be neutralised.
		v := csvsafe.Cell(rec[i])
		switch name {
		case "row":
			row.Row, _ = strconv.ParseInt(v, 10, 64)
		case "reason":
			row.Reason = v
		case "email":
			row.Email = v
		case "name":
			row.Name = v
		case "company":
			row.Company = v
		case "country":
			row.Country = v
		case "business_id":
			row.BusinessID = v
		case "job_title":
			row.JobTitle = v
		case "website":
			row.Website = v
		case "phone":
			row.Phone = v
		case "city":
			row.City = v
		}
	}
	return row
}
