package web

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
)

// uploadCreate receives a CSV file, streaming it to DataDir/uploads without holding it in
// memory, and sends the user to its preview. The form's fields come in page order: the form
// token first, so that nothing is written for a forged request, then the source, then the file. The route bounds the body at
// MaxUpload plus room for the other fields.
func (s *Server) uploadCreate(w http.ResponseWriter, r *http.Request, rq *request) error {
	// The file may take longer than the server's read timeout to arrive; it has that
	// long for each 64 KiB instead.
	r.Body = readCloser{extendReads(w, r.Body, s.opts.ReadTimeout), r.Body}
	mr, err := r.MultipartReader()
	if err != nil {
		return leadmailer.Errorf(leadmailer.EINVALID, "the upload was not a file form: %v", err)
	}
	form := uploadForm{Kind: string(leadmailer.KindUpload), MaxSize: sizeText(s.opts.MaxUpload)}
	fail := func(status int, msg string) error {
		form.Error = msg
		s.render(w, r, rq, status, "upload", "Upload a CSV file", form)
		return nil
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "csrf" || !auth.TokensEqual(readSmall(part), rq.session.CSRFToken) {
		return errBadFormToken
	}
	u := &upload{ID: auth.NewToken()[:22], UserID: rq.user.ID, Kind: leadmailer.KindUpload}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return leadmailer.Errorf(leadmailer.EINVALID, "the upload broke off: %v", err)
		}
		switch part.FormName() {
		case "source":
			u.Source = strings.TrimSpace(readSmall(part))
			form.Source = u.Source
		case "kind":
			u.Kind = leadmailer.SourceKind(readSmall(part))
			form.Kind = string(u.Kind)
		case "file":
			if err := s.saveUpload(u, part); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) || errors.Is(err, errTooLarge) {
					return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than %s. Split it into smaller files, or import it with the leadmailer import command.", form.MaxSize))
				}
				return err
			}
		}
	}
	switch {
	case u.Path == "" || u.Size == 0:
		os.Remove(u.Path)
		return fail(http.StatusBadRequest, "Choose a CSV file to upload; the file was missing or empty.")
	case u.Source == "":
		os.Remove(u.Path)
		return fail(http.StatusBadRequest, "Name the source the file came from, such as trade-fair-2026.")
	case u.Kind != leadmailer.KindUpload && u.Kind != leadmailer.KindPublic:
		os.Remove(u.Path)
		return fail(http.StatusBadRequest, "Choose whether the file is your own list or from a public database.")
	}
	if err := s.audit(r, rq, leadmailer.AuditUpload, u.FileName, fmt.Sprintf("source %q, %d bytes", u.Source, u.Size)); err != nil {
		os.Remove(u.Path)
		return err
	}
	s.mu.Lock()
	s.uploads[u.ID] = u
	s.mu.Unlock()
	http.Redirect(w, r, "/uploads/"+u.ID, http.StatusSeeOther)
	return nil
}

var errTooLarge = errors.New("upload too large")

// saveUpload streams the file part to disk, stopping at MaxUpload.
func (s *Server) saveUpload(u *upload, part *multipart.Part) error {
	dir := filepath.Join(s.opts.DataDir, "uploads")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	u.FileName = filepath.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
	if u.FileName == "." || u.FileName == "/" {
		u.FileName = "upload.csv"
	}
	u.Path = filepath.Join(dir, u.ID+".csv")
	f, err := os.OpenFile(u.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(part, s.opts.MaxUpload+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > s.opts.MaxUpload {
		err = errTooLarge
	}
	if err != nil {
		os.Remove(u.Path)
		u.Path = ""
		return err
	}
	u.Size = n
	return nil
}

// readSmall reads a short form field.
func readSmall(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 1024))
	return string(b)
}

// sizeText writes a byte count for people.
func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// readCloser reads from one reader and closes another: a wrapped request body.
type readCloser struct {
	io.Reader
	io.Closer
}
