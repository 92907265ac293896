package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
)

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitServing polls until the server answers, failing if the process exits first.
func waitServing(t *testing.T, c *child, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			t.Fatalf("serve exited early: %v\nstderr:\n%s", c.err, c.stderr.String())
		default:
		}
		if res, err := http.Get(base + "/login"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("serve did not answer within 30s")
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestServeStopsCleanlyDuringImport starts a real server process, logs in, starts importing a
// large upload through the web app, and sends SIGTERM while the import runs: the process must
// exit 0, and the run must end as failed with a message saying to run it again, not stay
// "running".
func TestServeStopsCleanlyDuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process and imports a large file")
	}
	data := t.TempDir()
	lmIn(t, data, "admin password 1\n", "init", "--admin", "ada", "--password-stdin")
	csvPath, _ := writeBulkCSV(t, t.TempDir(), bulkRows)
	addr := freeAddr(t)
	base := "http://" + addr
	c := startLeadmailer(t, "serve", "--listen", addr, "--data", data)
	waitServing(t, c, base)

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.PostForm(base+"/login", url.Values{"name": {"ada"}, "password": {"admin password 1"}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %v %v", res.Status, err)
	}
	res.Body.Close()
	csrf := func() string {
		res, err := hc.Get(base + "/upload")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		m := csrfField.FindSubmatch(body)
		if m == nil {
			t.Fatalf("no form token on the upload page (status %d)", res.StatusCode)
		}
		return string(m[1])
	}()

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", csrf)
	mw.WriteField("source", "bulk")
	mw.WriteField("kind", "upload")
	fw, _ := mw.CreateFormFile("file", "bulk.csv")
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(fw, f)
	f.Close()
	mw.Close()
	res, err = hc.Post(base+"/upload", mw.FormDataContentType(), &buf)
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %v %v", res.Status, err)
	}
	res.Body.Close()
	preview := res.Header.Get("Location")
	res, err = hc.PostForm(base+preview, url.Values{"csrf": {csrf}, "action": {"import"}, "source": {"bulk"},
		"header": {"Email", "Name", "Company", "Country", "City"},
		"col0":   {"email"}, "col1": {"name"}, "col2": {"company"}, "col3": {"country"}, "col4": {"city"}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("start import: %v %v\n%s", res.Status, err, body)
	}
	res.Body.Close()
	runID, err := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/imports/"), 10, 64)
	if err != nil {
		t.Fatalf("import redirected to %q", res.Header.Get("Location"))
	}

	db, raw := openDataForInspection(t, data)
	waitForCommitted(t, db, c, 10_000)
	c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.wait(t, 30*time.Second); code != exitOK {
		t.Fatalf("serve after SIGTERM: exit %d\nstdout:\n%s\nstderr:\n%s", code, c.stdout.String(), c.stderr.String())
	}
	if !strings.Contains(c.stdout.String(), "Stopped.") {
		t.Errorf("serve output lacks the clean stop:\n%s", c.stdout.String())
	}
	run, err := db.FindImportRun(t.Context(), runID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != leadmailer.RunFailed || !strings.Contains(run.Error, "run the import again") {
		t.Errorf("run after SIGTERM: status %s, error %q; want failed, saying to run it again", run.Status, run.Error)
	}
	checkStoppedRun(t, db, raw, run)
	if entries, _ := os.ReadDir(data + "/uploads"); len(entries) != 0 {
		t.Errorf("%d uploaded files left after a clean stop", len(entries))
	}
}
