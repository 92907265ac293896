package web

import (
	"net/http"

	"github.com/leadmailer/leadmailer/store"
)

// upload is a CSV file a user sent, waiting for them to check the preview and start the
// import. It is kept in the database, the file with it (store.PendingUpload), so that the
// preview and the import work whichever serve process they reach; it expires after
// SessionLifetime, the longest its user's session could last, and a user keeps at most
// maxPendingUploads.
type upload = store.PendingUpload

// maxPendingUploads is how many uploads waiting for their preview a user keeps; an upload
// past it replaces the oldest. Each may be as large as MaxUpload.
const maxPendingUploads = 3

type uploadForm struct {
	Source  string
	Kind    string
	MaxSize string
	Error   string
}

// uploadShow shows the upload form.
func (s *Server) uploadShow(w http.ResponseWriter, r *http.Request, rq *request) error {
	s.render(w, r, rq, http.StatusOK, "upload", "Upload a CSV file", uploadForm{Kind: "upload", MaxSize: sizeText(s.opts.MaxUpload)})
	return nil
}
