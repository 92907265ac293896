package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
)

// uploadImport takes the preview form: it applies the chosen encoding, delimiter, source and
// column mapping, then either shows the preview again ("preview") or starts the import in the
// background and sends the user to the run's page, where its progress shows ("import").
func (s *Server) uploadImport(w http.ResponseWriter, r *http.Request, rq *request) error {
	u, err := s.findUpload(r, rq)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return leadmailer.Errorf(leadmailer.EINVALID, "unreadable form: %v", err)
	}
	u.Encoding = pick(r.PostFormValue("encoding"), importer.EncodingNames())
	u.Delimiter = pick(r.PostFormValue("delimiter"), []string{",", ";", "tab", "|"})
	if src := strings.TrimSpace(r.PostFormValue("source")); src != "" {
		u.Source = src
	}
	if k := leadmailer.SourceKind(r.PostFormValue("kind")); k == leadmailer.KindUpload || k == leadmailer.KindPublic {
		u.Kind = k
	}
	header := r.PostForm["header"]
	u.Map = map[string]string{}
	for i, h := range header {
		if f := pick(r.PostFormValue("col"+strconv.Itoa(i)), importer.MapTargets()); f != "" {
			u.Map[h] = f
		}
	}
	if err := s.db.UpdatePendingUpload(r.Context(), u); err != nil {
		return err
	}

	if r.PostFormValue("action") != "import" {
		s.renderPreview(w, r, rq, u, http.StatusOK, "")
		return nil
	}
	runID, err := s.startImport(r.Context(), u, rq)
	if err != nil {
		if leadmailer.ErrorCode(err) == leadmailer.EINVALID {
			s.renderPreview(w, r, rq, u, http.StatusBadRequest, err.Error())
			return nil
		}
		return err
	}
	if err := s.audit(r, rq, leadmailer.AuditImport, fmt.Sprintf("run %d", runID),
		fmt.Sprintf("source %q file %q: started", u.Source, u.FileName)); err != nil {
		return err
	}
	http.Redirect(w, r, "/imports/"+strconv.FormatInt(runID, 10), http.StatusSeeOther)
	return nil
}

// pick returns v if it is one of allowed, else "" (detect, or the default).
func pick(v string, allowed []string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return ""
}

// checkMapping fails with EINVALID when the upload's columns cannot be imported as mapped.
func (s *Server) checkMapping(ctx context.Context, u *upload) error {
	f, err := s.db.OpenPendingUpload(ctx, u)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := importer.PreviewCSV(f, importer.Options{Encoding: u.Encoding, Delimiter: u.Delimiter, Map: u.Map}, 0)
	if err != nil {
		return err
	}
	if p.MappingError != "" {
		return leadmailer.Errorf(leadmailer.EINVALID, "%s", p.MappingError)
	}
	return nil
}
