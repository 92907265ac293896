package web

import (
	"net/http"
	"sync"

	"github.com/leadmailer/leadmailer"
)

// upload is a CSV file a user sent, waiting for them to check the preview and start the
// import. Uploads live in memory and their files in DataDir/uploads; a restart forgets them.
type upload struct {
	mu        sync.Mutex
	ID        string
	UserID    int64
	Path      string
	FileName  string
	Size      int64
	Source    string
	Kind      leadmailer.SourceKind
	Encoding  string            // "" to detect
	Delimiter string            // "" to detect
	Map       map[string]string // header -> field, as chosen on the preview page
}

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
