//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
)

// TestHostileUploadsBoundedMemory sends files built to exhaust memory through a real serve
// process's upload form, previews and imports them as a user would, and reads the server's
// peak resident memory from /proc: a 50 MB header line, a single 50 MB field and a 300 MB
// file must each end in a message naming the limit, and the server must stay under the
// limit an import on the command line has. The login alone takes 64 MiB for a moment (the
// password hash's memory), so the margin left for the uploads is what this test guards.
func TestHostileUploadsBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 400 MB to a server process")
	}
	data := t.TempDir()
	lmIn(t, data, "admin password 1\n", "init", "--admin", "ada", "--password-stdin")
	addr := freeAddr(t)
	base := "http://" + addr
	c := startLeadmailer(t, "serve", "--listen", addr, "--data", data)
	waitServing(t, c, base)
	web := loginWeb(t, base, "ada", "admin password 1")

	t.Run("a 50 MB header of 25 million columns", func(t *testing.T) {
		preview := web.upload(t, "columns.csv", func(w io.Writer) error {
			return writeRepeated(w, "email", ",x", 50<<20, "\na@example.com\n")
		})
		status, body := web.get(t, preview)
		if status != http.StatusBadRequest {
			t.Errorf("preview of the wide header: status %d, want %d", status, http.StatusBadRequest)
		}
		mustContain(t, "preview", squash(body), "more than 1000 columns")
		status, body = web.post(t, preview, url.Values{"action": {"import"}, "source": {"hostile"},
			"header": {"email"}, "col0": {"email"}})
		if status != http.StatusBadRequest {
			t.Errorf("import of the wide header: status %d, want %d", status, http.StatusBadRequest)
		}
		mustContain(t, "import", squash(body), "more than 1000 columns")
	})

	t.Logf("serve peak RSS after the wide header: %d MB", peakRSS(t, c.cmd.Process.Pid)>>20)

	t.Run("a 50 MB field", func(t *testing.T) {
		preview := web.upload(t, "field.csv", func(w io.Writer) error {
			return writeRepeated(w, "email,name\nbig@example.com,", "x", 50<<20, "\na@example.com,A\n")
		})
		if status, body := web.get(t, preview); status != http.StatusOK {
			t.Fatalf("preview of the long field: status %d\n%s", status, body)
		}
		status, loc := web.postRedirect(t, preview, url.Values{"action": {"import"}, "source": {"hostile"},
			"header": {"email", "name"}, "col0": {"email"}, "col1": {"name"}})
		if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/imports/") {
			t.Fatalf("start import: status %d, location %q", status, loc)
		}
		runID, err := strconv.ParseInt(strings.TrimPrefix(loc, "/imports/"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		db, _ := openDataForInspection(t, data)
		var run *leadmailer.ImportRun
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if run, err = db.FindImportRun(t.Context(), runID); err != nil {
				t.Fatal(err)
			}
			if run.Status != leadmailer.RunRunning || time.Now().After(deadline) {
				break
			}
		}
		if run.Status != leadmailer.RunCompleted || run.Counts.Rejected != 1 || run.Counts.Inserted != 1 {
			t.Errorf("run %d: status %s, counts %+v, error %q; want completed, 1 rejected, 1 inserted",
				runID, run.Status, run.Counts, run.Error)
		}
		_, page := web.get(t, loc+"/rejects.csv")
		mustContain(t, "rejects file", squash(page), "longer than 1 MiB")
	})

	t.Logf("serve peak RSS after the long field: %d MB", peakRSS(t, c.cmd.Process.Pid)>>20)

	t.Run("a 300 MB file", func(t *testing.T) {
		before, _ := os.ReadDir(data + "/pending-uploads")
		status, body := web.uploadStatus(t, "huge.csv", func(w io.Writer) error {
			return writeRepeated(w, "email,name\n", "a@example.com,A\n", 300<<20, "")
		})
		if status != http.StatusRequestEntityTooLarge {
			t.Errorf("upload of 300 MB: status %d, want %d", status, http.StatusRequestEntityTooLarge)
		}
		mustContain(t, "upload", squash(body), "The file is larger than 200 MiB")
		if after, _ := os.ReadDir(data + "/pending-uploads"); len(after) != len(before) {
			t.Errorf("%d files in pending-uploads after a refused upload, want the %d before it", len(after), len(before))
		}
	})

	peak := peakRSS(t, c.cmd.Process.Pid)
	t.Logf("serve peak RSS %d MB", peak>>20)
	if peak > maxImportRSS {
		t.Errorf("serve peak RSS %d MB, want at most %d MB", peak>>20, maxImportRSS>>20)
	}
}

// writeRepeated writes head, then unit repeated to about n bytes, then tail, from one small
// block: the test process must not hold the file it sends.
func writeRepeated(w io.Writer, head, unit string, n int, tail string) error {
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	block := bytes.Repeat([]byte(unit), (64<<10)/len(unit))
	for written := 0; written < n; written += len(block) {
		if _, err := w.Write(block); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, tail)
	return err
}

// peakRSS reads a live process's peak resident memory (VmHWM), in bytes. Unlike getrusage
// for a child, it counts only the process's own memory since it started.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// webClient is a logged-in user of a serve process.
type webClient struct {
	base string
	hc   *http.Client
	csrf string
}

func loginWeb(t *testing.T, base, name, password string) *webClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	wc := &webClient{base: base, hc: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	res, err := wc.hc.PostForm(base+"/login", url.Values{"name": {name}, "password": {password}})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: status %d", res.StatusCode)
	}
	_, page := wc.get(t, "/upload")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no form token on the upload page")
	}
	wc.csrf = m[1]
	return wc
}

func (wc *webClient) get(t *testing.T, path string) (int, string) {
	t.Helper()
	res, err := wc.hc.Get(wc.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(body)
}

func (wc *webClient) post(t *testing.T, path string, form url.Values) (int, string) {
	t.Helper()
	form.Set("csrf", wc.csrf)
	res, err := wc.hc.PostForm(wc.base+path, form)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(body)
}

func (wc *webClient) postRedirect(t *testing.T, path string, form url.Values) (int, string) {
	t.Helper()
	form.Set("csrf", wc.csrf)
	res, err := wc.hc.PostForm(wc.base+path, form)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Location")
}

// uploadStatus sends the upload form with a file that writeFile produces while the request
// is sent, and returns the response's status and body.
func (wc *webClient) uploadStatus(t *testing.T, name string, writeFile func(io.Writer) error) (int, string) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, f := range [][2]string{{"csrf", wc.csrf}, {"source", "hostile"}, {"kind", "upload"}} {
				if err := mw.WriteField(f[0], f[1]); err != nil {
					return err
				}
			}
			fw, err := mw.CreateFormFile("file", name)
			if err != nil {
				return err
			}
			if err := writeFile(fw); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	res, err := wc.hc.Post(wc.base+"/upload", mw.FormDataContentType(), pr)
	// The server may answer before it has read the whole body (a file over the size limit);
	// the rest of the body then has nowhere to go.
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode == http.StatusSeeOther {
		return res.StatusCode, res.Header.Get("Location")
	}
	return res.StatusCode, string(body)
}

// upload sends a file and returns its preview page's path.
func (wc *webClient) upload(t *testing.T, name string, writeFile func(io.Writer) error) string {
	t.Helper()
	status, loc := wc.uploadStatus(t, name, writeFile)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/uploads/") {
		t.Fatalf("upload %s: status %d, want a redirect to its preview\n%s", name, status, loc)
	}
	return loc
}
