package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
)

// leadInput is one lead as a client sends it: the fields of a CSV row, by their names.
type leadInput struct {
	Email      string `json:"email"`
	Name       string `json:"name"`
	Company    string `json:"company"`
	Country    string `json:"country"`
	BusinessID string `json:"business_id"`
	JobTitle   string `json:"job_title"`
	Website    string `json:"website"`
	Phone      string `json:"phone"`
	City       string `json:"city"`
}

func (in *leadInput) values() leadmailer.Values {
	var v leadmailer.Values
	v[leadmailer.FieldEmail], v[leadmailer.FieldName], v[leadmailer.FieldCompany] = in.Email, in.Name, in.Company
	v[leadmailer.FieldCountry], v[leadmailer.FieldBusinessID], v[leadmailer.FieldJobTitle] = in.Country, in.BusinessID, in.JobTitle
	v[leadmailer.FieldWebsite], v[leadmailer.FieldPhone], v[leadmailer.FieldCity] = in.Website, in.Phone, in.City
	return v
}

// upsertRequest is the body of POST /api/v1/leads. Each lead is decoded on its own, so that
// one lead with an unknown field or a number for a name is refused alone.
type upsertRequest struct {
	Leads []json.RawMessage `json:"leads"`
}

// upsertResult is the answer of POST /api/v1/leads: the import run that stored the batch,
// with its counts, and one error per refused lead.
type upsertResult struct {
	Run    *leadmailer.ImportRun `json:"run"`
	Errors []rowError            `json:"errors"`
}

// rowError says why one lead of a batch was refused. Index is its position in "leads",
// from 0.
type rowError struct {
	Index   int    `json:"index"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// leadUpsert stores a batch of leads as one import run of kind api whose source is
// "api:TOKEN", through the importer, so that each lead gets the same normalisation,
// validation, deduplication, suppression and provenance as a CSV row: the observation's row
// is the lead's position in the batch, from 1. A lead that fails validation is refused on
// its own, with its index and field in the answer; the others are stored.
func (s *Server) leadUpsert(w http.ResponseWriter, r *http.Request, c *call) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	return s.idempotent(w, r, c, hex.EncodeToString(sum[:]), func() (int, []byte, error) { return s.upsert(r, c, body) })
}

// upsert decodes and stores one batch and returns the answer's status and body.
func (s *Server) upsert(r *http.Request, c *call, body []byte) (int, []byte, error) {
	res := upsertResult{Errors: []rowError{}}
	records, err := s.decodeBatch(body, &res)
	if err != nil {
		return 0, nil, err
	}
	for i := range records {
		rec := &records[i]
		if rec.Err != "" {
			continue
		}
		prefix := "leads[" + strconv.Itoa(i) + "]"
		if f, err := importer.CheckRow(&rec.Raw); err != nil {
			res.Errors = append(res.Errors, rowError{Index: i, Code: leadmailer.EINVALID,
				Message: fmt.Sprintf("%s: %v", f, err), Field: prefix + "." + f.String()})
			rec.Err = fmt.Sprintf("%s: %v", f, err)
		}
	}
	// Leads refused while decoding came first; the answer lists every refusal in batch order.
	slices.SortStableFunc(res.Errors, func(a, b rowError) int { return a.Index - b.Index })
	rep, err := importer.ImportRecords(r.Context(), s.db, &recordList{records: records}, importer.RecordOptions{
		Source: "api:" + c.token.Name, Kind: leadmailer.KindAPI, Actor: c.token.Actor(), BatchSize: len(records) + 1,
	})
	if rep != nil && rep.Run != nil && rep.Run.ID != 0 {
		// Recorded whether the run completed or not: its leads are stored up to the failure.
		run := rep.Run
		if aerr := s.audit(r, c, leadmailer.AuditImport, fmt.Sprintf("run %d", run.ID), fmt.Sprintf("%s: %d read, %d inserted, %d updated, %d rejected",
			run.Status, run.Counts.Read, run.Counts.Inserted, run.Counts.Updated, run.Counts.Rejected)); aerr != nil && err == nil {
			err = aerr
		}
	}
	if err != nil {
		return 0, nil, err
	}
	res.Run = rep.Run
	answer, err := json.Marshal(res)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, append(answer, '\n'), nil
}

// decodeBatch decodes the leads of body into records, one per lead, with Err set on each
// lead that cannot be decoded and its error added to res. A well-formed batch is decoded in
// one pass; only one with a lead in error is decoded again lead by lead, to say which leads
// are at fault: decoding twice cost a sixth of a batch's time.
func (s *Server) decodeBatch(body []byte, res *upsertResult) ([]importer.Record, error) {
	var fast struct {
		Leads []leadInput `json:"leads"`
	}
	if err := decodeJSON(bytes.NewReader(body), &fast, ""); err == nil && fast.Leads != nil && len(fast.Leads) <= s.opts.MaxBatch {
		records := make([]importer.Record, len(fast.Leads))
		for i := range fast.Leads {
			records[i].Raw = fast.Leads[i].values()
			records[i].Where = "lead " + strconv.Itoa(i)
		}
		return records, nil
	}
	var req upsertRequest
	if err := decodeJSON(bytes.NewReader(body), &req, ""); err != nil {
		return nil, err
	}
	if req.Leads == nil {
		return nil, fieldErrorf("leads", "give the leads as a list in \"leads\"; one lead is a list of one")
	}
	if len(req.Leads) > s.opts.MaxBatch {
		return nil, fieldErrorf("leads", "%d leads in one call; send at most %d per call", len(req.Leads), s.opts.MaxBatch)
	}
	records := make([]importer.Record, len(req.Leads))
	for i, raw := range req.Leads {
		rec := &records[i]
		rec.Where = "lead " + strconv.Itoa(i)
		var in leadInput
		if err := decodeJSON(bytes.NewReader(raw), &in, "leads["+strconv.Itoa(i)+"]"); err != nil {
			_, d := describe(err)
			res.Errors = append(res.Errors, rowError{Index: i, Code: d.Code, Message: d.Message, Field: d.Field})
			rec.Err = d.Message
			continue
		}
		rec.Raw = in.values()
	}
	return records, nil
}

// recordList hands a decoded batch to the importer.
type recordList struct {
	records []importer.Record
	next    int
}

func (l *recordList) Next() (*importer.Record, error) {
	if l.next == len(l.records) {
		return nil, io.EOF
	}
	l.next++
	return &l.records[l.next-1], nil
}
