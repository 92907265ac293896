package main

import (
	"bytes"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
	"github.com/leadmailer/leadmailer/publicweb"
	"github.com/leadmailer/leadmailer/store"
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

// servingChild is a serve process a test started: its output and the web app's address.
type servingChild struct {
	*child
	stdout *syncWriter
	base   string // the web app's address, http://127.0.0.1:PORT
}

// startServing starts "serve --listen 127.0.0.1:0" on data, with env added to its
// environment, and waits until it prints the address it serves the web app on.
func startServing(t *testing.T, data string, env ...string) *servingChild {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], "serve", "--listen", "127.0.0.1:0", "--data", data), done: make(chan struct{})}
	c.cmd.Env = append(append(os.Environ(), mainEnv+"=1"), env...)
	s := &servingChild{child: c, stdout: &syncWriter{}}
	c.cmd.Stdout, c.cmd.Stderr = s.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { c.cmd.Process.Kill(); <-c.done })
	addrRE := regexp.MustCompile(`Serving the web app on (http://\S+)`)
	s.until(t, "address printed", func() bool {
		m := addrRE.FindStringSubmatch(s.stdout.String())
		if m != nil {
			s.base = m[1]
		}
		return m != nil
	})
	return s
}

// until polls cond every 20 ms for up to 30 s, failing if serve exits first.
func (s *servingChild) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-s.done:
			t.Fatalf("serve exited while waiting for %s: %v\nstdout:\n%s\nstderr:\n%s", what, s.err, s.stdout.String(), s.stderr.String())
		default:
		}
		if cond() {
			return
		}
	}
	t.Fatalf("no %s within 30 s\nstdout:\n%s\nstderr:\n%s", what, s.stdout.String(), s.stderr.String())
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

// TestServeRunsScheduleCampaignsAndOptOut starts a real server process on port 0 with a
// source on a local HTTP server due every second and a campaign due now sending to a local
// SMTP server: the source run is recorded, the campaign's message arrives, the one-click
// opt-out link in it records an objection, and SIGTERM stops the process cleanly.
func TestServeRunsScheduleCampaignsAndOptOut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"results": [{"businessId": "1234567-8", "name": "Registry Oy", "country": "FI", "domicile": "Espoo"}]}`)
	}))
	defer registry.Close()
	smtp := smtptest.New(t)
	data := filepath.Join(t.TempDir(), "data")
	writeConfig(t, data, senderConfig(smtp.URL(), `
[[sources]]
name = "registry"
title = "Trade Register"
kind = "http"
url = "`+registry.URL+`/companies"
format = "json"
records = "results"
id_field = "businessId"
schedule = "@every 1s"
rate_limit = 100
[sources.fields]
company = "name"
business_id = "businessId"
country = "country"
city = "domicile"
`))
	csv := writeFile(t, t.TempDir(), "people.csv", "Email,Name,Company,Country\nanna@example.com,Anna Virtanen,Virtanen Oy,FI\n")
	lm(t, data, "import", csv, "--source", "fair")
	id := createCampaign(t, data, "--at", time.Now().UTC().Format(time.RFC3339))

	c := startServing(t, data)
	stdout, base := c.stdout, c.base
	until := func(what string, cond func() bool) { t.Helper(); c.until(t, what, cond) }
	until("campaign message", func() bool { return smtp.CountRecipient("anna@example.com") == 1 })

	db := openTestData(t, data)
	until("source run", func() bool {
		runs, err := db.FindImportRuns(t.Context(), "registry", 1)
		return err == nil && len(runs) == 1 && runs[0].Status != leadmailer.RunRunning
	})
	runs, _ := db.FindImportRuns(t.Context(), "registry", 1)
	if runs[0].Status == leadmailer.RunFailed || runs[0].Actor != "schedule" {
		t.Errorf("scheduled run: %s by %s, error %q; want a completed run by the schedule", runs[0].Status, runs[0].Actor, runs[0].Error)
	}

	msg := string(smtp.Messages()[0].Data)
	m := regexp.MustCompile(`List-Unsubscribe: <https://leads\.focus\.example(/u/[^>]+)>`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("campaign %d message has no List-Unsubscribe link:\n%s", id, msg)
	}
	res, err := http.Post(base+m[1], "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("one-click opt-out: status %d", res.StatusCode)
	}
	if ok, err := db.IsSuppressed(t.Context(), "anna@example.com"); !ok || err != nil {
		t.Errorf("after the opt-out the address is suppressed: %v, %v", ok, err)
	}
	var entries []*leadmailer.AuditEntry
	err = db.FindAuditEntries(t.Context(), store.AuditFilter{Action: publicweb.AuditObjection}, func(e *leadmailer.AuditEntry) error {
		entries = append(entries, e)
		return nil
	})
	if err != nil || len(entries) != 1 || entries[0].IP != "127.0.0.1" {
		t.Errorf("objection audit entries %+v, %v; want one from 127.0.0.1", entries, err)
	}

	c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.wait(t, 30*time.Second); code != exitOK {
		t.Fatalf("serve after SIGTERM: exit %d\nstderr:\n%s", code, c.stderr.String())
	}
	if !strings.Contains(stdout.String(), "Stopped.") || !strings.Contains(c.stderr.String(), "scheduler stopped") {
		t.Errorf("no clean stop:\nstdout:\n%s\nstderr:\n%s", stdout.String(), c.stderr.String())
	}
}

// TestSourceRunsOneAtATime: while a source runs (here started from the web app's "Run now"
// and held up by its server), neither a second "Run now" nor its scheduled turn starts
// another run of it; the run is recorded as by the user who started it.
func TestSourceRunsOneAtATime(t *testing.T) {
	release := make(chan struct{})
	requested := make(chan struct{}, 10)
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requested <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"results": [{"businessId": "1234567-8", "name": "Registry Oy", "country": "FI", "domicile": "Espoo"}]}`)
	}))
	defer registry.Close()
	data := filepath.Join(t.TempDir(), "data")
	writeSourcesConfig(t, data, registry.URL)
	e := &env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "test-key" }}
	cfg, err := loadConfig(data, "", e)
	if err != nil {
		t.Fatal(err)
	}
	db := openTestData(t, data)
	runs := newSourceRuns(e, db)
	src := findSource(cfg, "prh")

	if err := runs.start(t.Context(), src, "user:mark"); err != nil {
		t.Fatal(err)
	}
	<-requested
	if !runs.Running("prh") {
		t.Error("Running says the source is idle during its run")
	}
	if err := runs.start(t.Context(), src, "user:ada"); leadmailer.ErrorCode(err) != leadmailer.ECONFLICT {
		t.Errorf("second run now: %v, want a conflict", err)
	}
	if err := runs.runScheduled(t.Context(), src); err != nil {
		t.Errorf("scheduled turn during the run: %v, want it skipped quietly", err)
	}
	close(release)
	runs.Wait()
	if runs.Running("prh") {
		t.Error("Running says the source still runs after it finished")
	}
	if len(requested) != 0 {
		t.Errorf("%d more requests to the source during its run, want none", len(requested))
	}
	list, err := db.FindImportRuns(t.Context(), "prh", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("%d runs recorded, want one", len(list))
	}
	if list[0].Actor != "user:mark" || list[0].Status == leadmailer.RunFailed {
		t.Errorf("run by %s, %s (%s); want a completed run by user:mark", list[0].Actor, list[0].Status, list[0].Error)
	}
}
