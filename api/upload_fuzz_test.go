package api

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// FuzzUploadForm feeds any multipart body to the upload's form reader and its settings: it
// must never panic, must refuse with a 400 or 413 in the one shape naming the field at
// fault, must never keep more than MaxUpload bytes, and must leave no file behind when it
// refuses.
func FuzzUploadForm(f *testing.F) {
	const b = "--XB\r\n"
	for _, seed := range []string{
		b + "Content-Disposition: form-data; name=\"source\"\r\n\r\nfair\r\n" + b +
			"Content-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nemail\na@b.fi\r\n--XB--\r\n",
		b + "Content-Disposition: form-data; name=\"map\"\r\n\r\nEmail=email\r\n" + b +
			"Content-Disposition: form-data; name=\"delimiter\"\r\n\r\ntab\r\n--XB--\r\n",
		b + "Content-Disposition: form-data; name=\"nickname\"\r\n\r\nx\r\n--XB--\r\n",
		b + "Content-Disposition: form-data; name=\"file\"\r\n\r\n" + string(bytes.Repeat([]byte("x"), 300)) + "\r\n--XB--\r\n",
		b + "Content-Disposition: form-data; name=\"file\"\r\n\r\na\r\n" + b + "Content-Disposition: form-data; name=\"file\"\r\n\r\nb\r\n--XB--\r\n",
		"--XB", "", b,
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	s := New(nil, Options{DataDir: dir, MaxUpload: 256})
	uploads := filepath.Join(dir, "uploads")
	f.Fuzz(func(t *testing.T, body []byte) {
		var st importSettings
		up, err := s.saveMultipart(bytes.NewReader(body), "XB", &st)
		if err == nil {
			info, serr := os.Stat(up.path)
			if serr != nil || info.Size() != up.size || up.size > 256 {
				t.Fatalf("kept %+v (%v), want a file of at most 256 bytes", up, serr)
			}
			os.Remove(up.path)
			if _, err = st.options(); err == nil {
				return
			}
		}
		status, d := describe(err)
		if (status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge) || d.Message == "" || d.Field == "" {
			t.Fatalf("refusal %d %+v, want 400 or 413 with a message and a field", status, d)
		}
		if left, _ := os.ReadDir(uploads); len(left) != 0 {
			t.Fatalf("a refused form left %d files", len(left))
		}
	})
}
