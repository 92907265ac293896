package web

import (
	"net/http"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
)

// previewRows is how many records the preview shows.
const previewRows = 5

// uploadPreview shows how the importer will read an uploaded file: the detected encoding and
// delimiter, each column's field as a choice the user can change, and the first rows.
func (s *Server) uploadPreview(w http.ResponseWriter, r *http.Request, rq *request) error {
	u, err := s.findUpload(r, rq)
	if err != nil {
		return err
	}
	s.renderPreview(w, r, rq, u, http.StatusOK, "")
	return nil
}

type previewPage struct {
	Upload     *upload
	Preview    *importer.Preview
	Encodings  []string
	Delimiters []string
	Targets    []string
	Error      string
}

func (s *Server) renderPreview(w http.ResponseWriter, r *http.Request, rq *request, u *upload, status int, msg string) {
	p := previewPage{Upload: u, Encodings: importer.EncodingNames(), Delimiters: []string{",", ";", "tab", "|"},
		Targets: importer.MapTargets(), Error: msg}
	f, err := s.db.OpenPendingUpload(r.Context(), u)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	defer f.Close()
	p.Preview, err = importer.PreviewCSV(f, importer.Options{Encoding: u.Encoding, Delimiter: u.Delimiter, Map: u.Map}, previewRows)
	if err != nil {
		if leadmailer.ErrorCode(err) != leadmailer.EINVALID {
			s.fail(w, r, rq, err)
			return
		}
		p.Error = err.Error()
		if status == http.StatusOK {
			status = http.StatusBadRequest
		}
	}
	s.render(w, r, rq, status, "upload_preview", "Check the import of "+u.FileName, p)
}

// findUpload returns the pending upload named in the path, if it is the user's own.
func (s *Server) findUpload(r *http.Request, rq *request) (*upload, error) {
	u, err := s.db.FindPendingUpload(r.Context(), r.PathValue("id"), rq.user.ID)
	if leadmailer.ErrorCode(err) == leadmailer.ENOTFOUND {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no pending upload here: it was imported already, or it expired. Upload the file again.")
	}
	return u, err
}
