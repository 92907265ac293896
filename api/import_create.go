package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
	"github.com/leadmailer/leadmailer/importer"
)

// importSettings are how a CSV upload is read and recorded: the web app's upload and
// preview form, as query parameters or the fields of a multipart form.
type importSettings struct {
	Source    string
	Kind      leadmailer.SourceKind
	Encoding  string   // "" detects it
	Delimiter string   // "" detects it; "tab" for a tab
	Map       []string // "Header=field", as "leadmailer import --map" takes them
	FileName  string
	// Preview asks how the file would be read and mapped, with its first rows, instead of
	// importing it: the web app's preview page.
	Preview bool
}

// set takes one setting by its parameter name; it reports whether name is one.
func (st *importSettings) set(name, v string) bool {
	switch name {
	case "source":
		st.Source = strings.TrimSpace(v)
	case "kind":
		st.Kind = leadmailer.SourceKind(strings.TrimSpace(v))
	case "encoding":
		st.Encoding = strings.TrimSpace(v)
	case "delimiter":
		st.Delimiter = v
	case "map":
		st.Map = append(st.Map, v)
	case "file_name":
		st.FileName = strings.TrimSpace(v)
	case "preview":
		st.Preview = v == "true" || v == "1"
	default:
		return false
	}
	return true
}

// options checks the settings and returns them as the importer takes them.
func (st *importSettings) options() (importer.Options, error) {
	opts := importer.Options{Source: st.Source, Kind: st.Kind, FileName: st.FileName, Encoding: st.Encoding, Delimiter: st.Delimiter}
	switch {
	case st.Source == "":
		return opts, fieldErrorf("source", "name the source the file came from in source, such as trade-fair-2026")
	case st.Kind == "":
		opts.Kind = leadmailer.KindUpload
	case st.Kind != leadmailer.KindUpload && st.Kind != leadmailer.KindPublic:
		// As in the web app: website and api runs are made by those endpoints, not by files.
		return opts, fieldErrorf("kind", "kind %q: use upload for your own list or public for a public database's", st.Kind)
	}
	if st.Encoding != "" && !slices.Contains(importer.EncodingNames(), st.Encoding) {
		return opts, fieldErrorf("encoding", "encoding %q: use one of %s, or leave it out to detect it", st.Encoding, strings.Join(importer.EncodingNames(), ", "))
	}
	switch st.Delimiter {
	case "", ",", ";", "|":
	case "tab", "\t":
		opts.Delimiter = "\t"
	default:
		return opts, fieldErrorf("delimiter", "delimiter %q: use , ; | or tab, or leave it out to detect it", st.Delimiter)
	}
	if len(st.Map) > 0 {
		m, err := importer.ParseMap(st.Map)
		if err != nil {
			return opts, fieldErrorf("map", "%s", strings.TrimPrefix(err.Error(), "--map "))
		}
		opts.Map = m
	}
	return opts, nil
}

// key is what decides what an upload creates, for its idempotency hash.
func (st *importSettings) key() string {
	return strings.Join(append([]string{st.Source, string(st.Kind), st.Encoding, st.Delimiter, st.FileName, strconv.FormatBool(st.Preview)}, st.Map...), "\x00")
}

// importResult is the answer of POST /api/v1/imports: the run, and how the file was read.
type importResult struct {
	Run       *leadmailer.ImportRun `json:"run"`
	Encoding  string                `json:"encoding"`
	Delimiter string                `json:"delimiter"`
}

// importCreate imports a CSV file sent as the body (text/csv) or as the "file" part of a
// multipart form. The file is streamed to disk, never held in memory, up to the web app's
// upload limit; its columns are mapped and checked as the web app's preview does, and a
// mapping that cannot be imported is refused before anything is stored. The import then runs
// while the call waits, so the answer holds the run's counts; rejected rows are stored with
// the run, for GET /api/v1/imports/{id}/rejects (and the web app's download).
func (s *Server) importCreate(w http.ResponseWriter, r *http.Request, c *call) error {
	if s.opts.DataDir == "" {
		return leadmailer.Errorf(leadmailer.EINVALID, "this server was started without a data folder and takes no CSV files")
	}
	// The file may take longer than the server's read timeout to arrive; it has that long
	// for each 64 KiB instead.
	body := extendReads(w, r.Body, s.opts.ReadTimeout)
	var st importSettings
	for name, vs := range r.URL.Query() {
		for _, v := range vs {
			if !st.set(name, v) {
				return fieldErrorf(name, "unknown parameter %q: see /api/v1/openapi.yaml for the parameters this call takes", name)
			}
		}
	}
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mediaType = ""
	}
	var up *uploadFile
	switch mediaType {
	case "text/csv":
		if up, err = s.saveUpload(body); err != nil {
			return err
		}
	case "multipart/form-data":
		if up, err = s.saveMultipart(body, params["boundary"], &st); err != nil {
			return err
		}
	default:
		return fieldErrorf("Content-Type", "send the file as the body with Content-Type: text/csv, or as the part \"file\" of a multipart/form-data body")
	}
	defer os.Remove(up.path)
	if st.FileName == "" {
		st.FileName = up.name
	}
	if st.FileName == "" {
		st.FileName = "upload.csv"
	}
	if up.size == 0 {
		return fieldErrorf("file", "the file is empty: it needs a header row naming its columns")
	}
	opts, err := st.options()
	if err != nil {
		return err
	}
	if st.Preview {
		return s.previewImport(w, r, c, up, opts)
	}
	if err := checkMapping(up.path, opts); err != nil {
		return err
	}
	key := sha256.Sum256([]byte(st.key() + "\x00" + up.sha256))
	return s.idempotent(w, r, c, hex.EncodeToString(key[:]), func() (int, []byte, error) {
		return s.runImport(w, r, c, up, opts)
	})
}

// previewRows is how many rows a preview shows, as many as the web app's.
const previewRows = 10

// previewImport answers how the saved file would be read: its encoding and delimiter, each
// column and the field it would go to, why the mapping cannot be imported if it cannot, and
// its first rows. Nothing is stored; the rows are the caller's own file, and the upload is
// recorded as the web app records one.
func (s *Server) previewImport(w http.ResponseWriter, r *http.Request, c *call, up *uploadFile, opts importer.Options) error {
	f, err := os.Open(up.path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := importer.PreviewCSV(f, opts, previewRows)
	if leadmailer.ErrorCode(err) == leadmailer.EINVALID {
		return fieldErrorf("file", "%s", err.Error())
	}
	if err != nil {
		return err
	}
	if err := s.audit(r, c, leadmailer.AuditUpload, opts.FileName, fmt.Sprintf("source %q, %d bytes, preview", opts.Source, up.size)); err != nil {
		return err
	}
	if p.Rows == nil {
		p.Rows = [][]string{}
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// checkMapping refuses a file whose columns cannot be imported as mapped, as the web app's
// preview does: no e-mail column, two columns for one field, an unreadable header.
func checkMapping(path string, opts importer.Options) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := importer.PreviewCSV(f, opts, 0)
	if leadmailer.ErrorCode(err) == leadmailer.EINVALID {
		return fieldErrorf("file", "%s", err.Error())
	}
	if err != nil {
		return err
	}
	if p.MappingError != "" {
		var cols []string
		for _, col := range p.Columns {
			cols = append(cols, fmt.Sprintf("%q=%s", col.Header, col.Field))
		}
		return fieldErrorf("map", "%s; the columns map as %s: give map=Header=field to change that", p.MappingError, strings.Join(cols, ", "))
	}
	return nil
}

// runImport imports the saved file and returns the answer.
func (s *Server) runImport(w http.ResponseWriter, r *http.Request, c *call, up *uploadFile, opts importer.Options) (int, []byte, error) {
	if err := s.audit(r, c, leadmailer.AuditUpload, opts.FileName, fmt.Sprintf("source %q, %d bytes", opts.Source, up.size)); err != nil {
		return 0, nil, err
	}
	f, err := os.Open(up.path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	opts.Actor, opts.Size = c.token.Actor(), up.size
	// A large file takes longer to import than the server's write timeout; each committed
	// batch gives the answer that long again.
	rc := http.NewResponseController(w)
	opts.Progress = func(importer.Progress) { rc.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout)) }
	rep, err := importer.Import(r.Context(), s.db, f, opts)
	if rep != nil && rep.Run != nil && rep.Run.ID != 0 {
		run := rep.Run
		if aerr := s.audit(r, c, leadmailer.AuditImport, fmt.Sprintf("run %d", run.ID), fmt.Sprintf("source %q file %q: %s, %d read, %d inserted, %d updated, %d rejected",
			run.Source, opts.FileName, run.Status, run.Counts.Read, run.Counts.Inserted, run.Counts.Updated, run.Counts.Rejected)); aerr != nil && err == nil {
			err = aerr
		}
	}
	if err != nil {
		return 0, nil, err
	}
	rc.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	answer, err := json.Marshal(importResult{Run: rep.Run, Encoding: rep.Encoding, Delimiter: rep.Delimiter})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, append(answer, '\n'), nil
}

// uploadFile is a CSV file saved to DataDir/uploads.
type uploadFile struct {
	path, name string
	size       int64
	sha256     string
}

// errTooLarge is the answer to a file over Options.MaxUpload.
func (s *Server) errTooLarge() error {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: CodeTooLarge, field: "file",
		msg: fmt.Sprintf("the file is larger than %d bytes: split it into smaller files, or import it with \"leadmailer import\"", s.opts.MaxUpload)}
}

// saveUpload streams in to a new file in DataDir/uploads, stopping at MaxUpload.
func (s *Server) saveUpload(in io.Reader) (*uploadFile, error) {
	dir := filepath.Join(s.opts.DataDir, "uploads")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	up := &uploadFile{path: filepath.Join(dir, "api-"+auth.NewToken()[:22]+".csv")}
	f, err := os.OpenFile(up.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(in, s.opts.MaxUpload+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var mbe *http.MaxBytesError
	switch {
	case err == nil && n > s.opts.MaxUpload, errors.As(err, &mbe):
		err = s.errTooLarge()
	case err != nil:
		err = fieldErrorf("file", "the upload broke off: %v", err)
	}
	if err != nil {
		os.Remove(up.path)
		return nil, err
	}
	up.size, up.sha256 = n, hexSum(h)
	return up, nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func removeUpload(up *uploadFile) { os.Remove(up.path) }
