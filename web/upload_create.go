package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
)

// uploadCreate receives a CSV file, streaming it into the database a chunk at a time without
// holding it in memory, and sends the user to its preview. The form's fields come in page order: the form
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
	u := &upload{ID: auth.NewToken()[:22], UserID: rq.user.ID, Kind: leadmailer.KindUpload, CreatedAt: s.opts.Now()}
	stored := false
	// Whatever ends the request, a file that is not handed to the preview is deleted; the
	// request's context may be what ended.
	defer func() {
		if stored {
			if err := s.db.DeletePendingUpload(context.WithoutCancel(r.Context()), u.ID); err != nil {
				s.opts.Logger.Error("delete refused upload", "err", err)
			}
		}
	}()
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
			if stored {
				return fail(http.StatusBadRequest, "Upload one file at a time.")
			}
			stored = true
			if err := s.saveUpload(r.Context(), u, part); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) || errors.Is(err, errTooLarge) {
					return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than %s. Split it into smaller files, or import it with the leadmailer import command.", form.MaxSize))
				}
				return err
			}
		}
	}
	switch {
	case !stored || u.Size <= 0:
		return fail(http.StatusBadRequest, "Choose a CSV file to upload; the file was missing or empty.")
	case u.Source == "":
		return fail(http.StatusBadRequest, "Name the source the file came from, such as trade-fair-2026.")
	case u.Kind != leadmailer.KindUpload && u.Kind != leadmailer.KindPublic:
		return fail(http.StatusBadRequest, "Choose whether the file is your own list or from a public database.")
	}
	// The source and kind may have come after the file.
	if err := s.db.UpdatePendingUpload(r.Context(), u); err != nil {
		return err
	}
	if err := s.audit(r, rq, leadmailer.AuditUpload, u.FileName, fmt.Sprintf("source %q, %d bytes", u.Source, u.Size)); err != nil {
		return err
	}
	stored = false // handed to the preview
	http.Redirect(w, r, "/uploads/"+u.ID, http.StatusSeeOther)
	return nil
}

var errTooLarge = errors.New("upload too large")

// saveUpload stores u and streams the file part into it, stopping at MaxUpload.
func (s *Server) saveUpload(ctx context.Context, u *upload, part *multipart.Part) error {
	u.FileName = filepath.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
	if u.FileName == "." || u.FileName == "/" {
		u.FileName = "upload.csv"
	}
	if err := s.db.CreatePendingUpload(ctx, u, maxPendingUploads); err != nil {
		return err
	}
	w := s.db.WritePendingUpload(ctx, u.ID)
	n, err := io.Copy(w, io.LimitReader(part, s.opts.MaxUpload+1))
	if err == nil && n > s.opts.MaxUpload {
		err = errTooLarge
	}
	if err != nil {
		w.Abort()
		return err
	}
	if err := w.Close(); err != nil {
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
