package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/store/storetest"
)

// twoServing starts two serve processes on one PostgreSQL database, each with a data
// directory of its own holding the same secret key, as two machines behind one proxy would
// run. It returns them and the first data directory, for the CLI.
func twoServing(t *testing.T) (a, b *servingChild, data string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts two server processes")
	}
	dbURL := storetest.NewPostgresDatabase(t) // skips without PostgreSQL
	data = filepath.Join(t.TempDir(), "a")
	t.Setenv("LEADMAILER_DATABASE_URL", dbURL)
	lmIn(t, data, "correct horse battery staple\n", "users", "add", "ada", "--role", "admin", "--password-stdin")
	other := filepath.Join(t.TempDir(), "b")
	if err := os.MkdirAll(other, 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(data, secretFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, secretFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	return startServing(t, data, "LEADMAILER_DATABASE_URL="+dbURL), startServing(t, other, "LEADMAILER_DATABASE_URL="+dbURL), data
}

// Wrong passwords alternating between two serve processes trip the login throttle at the
// same count as on one: the fifth failure for a name from an address is the last answered,
// and the right password after it is refused by both processes.
func TestServeTwoProcessesShareLoginThrottle(t *testing.T) {
	a, b, _ := twoServing(t)
	try := func(base, pw string) int {
		t.Helper()
		hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := hc.PostForm(base+"/login", url.Values{"name": {"ada"}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	bases := []string{a.base, b.base}
	const limit = 5 // the web app's failures per name and address
	for i := range limit {
		if got := try(bases[i%2], "wrong guess"); got != http.StatusUnauthorized {
			t.Fatalf("wrong password %d on process %d: status %d, want 401", i+1, i%2+1, got)
		}
	}
	for i, base := range bases {
		if got := try(base, "correct horse battery staple"); got != http.StatusTooManyRequests {
			t.Errorf("right password on process %d after %d failures spread over both: status %d, want 429", i+1, limit, got)
		}
	}
}

// A CSV uploaded through one process is previewed and imported through the other: the
// pending upload and its file are in the database, not in the memory of the process that
// took it.
func TestServeTwoProcessesUploadThenConfirmElsewhere(t *testing.T) {
	a, b, data := twoServing(t)
	token := strings.TrimSpace(lm(t, data, "tokens", "add", "reader", "--role", "viewer").stdout)
	onA := loginWeb(t, a.base, "ada", "correct horse battery staple")

	csv := "Email,Name,Company\ninfo@acme.fi,Matti Meikäläinen,ACME Oy\nanna@bolt.example,Anna Berg,Bolt Ab\n"
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", onA.csrf)
	mw.WriteField("source", "fair")
	mw.WriteField("kind", "upload")
	fw, _ := mw.CreateFormFile("file", "fair.csv")
	io.WriteString(fw, csv)
	mw.Close()
	res, err := onA.hc.Post(a.base+"/upload", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	preview := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(preview, "/uploads/") {
		t.Fatalf("upload on process 1: %d, Location %q", res.StatusCode, preview)
	}

	// The same browser, its session cookie and form token, on the other process.
	onB := &webClient{base: b.base, hc: onA.hc, csrf: onA.csrf}
	status, page := onB.get(t, preview)
	if status != http.StatusOK || !strings.Contains(page, "fair.csv") || !strings.Contains(page, "info@acme.fi") {
		t.Fatalf("preview on process 2: %d\n%s", status, page)
	}
	status, location := onB.postRedirect(t, preview, url.Values{"action": {"import"}, "source": {"fair"}, "kind": {"upload"},
		"header": {"Email", "Name", "Company"}, "col0": {"email"}, "col1": {"name"}, "col2": {"company"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(location, "/imports/") {
		t.Fatalf("import on process 2: %d, Location %q", status, location)
	}
	// Taken once: the first process no longer offers it.
	if status, _ := onA.get(t, preview); status != http.StatusNotFound {
		t.Errorf("preview on process 1 after the import started on 2: %d, want 404", status)
	}

	var leads string
	a.until(t, "the imported leads, listed by the API on process 1", func() bool {
		req, _ := http.NewRequest("GET", a.base+"/api/v1/leads", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		leads = string(body)
		return strings.Contains(leads, "info@acme.fi") && strings.Contains(leads, "anna@bolt.example")
	})
}

// One API token's calls, spread over two processes, draw on one allowance: a burst larger
// than the allowance gets refusals from both processes, and no more calls are answered than
// one process alone would answer in that time.
func TestServeTwoProcessesShareAPIRateLimit(t *testing.T) {
	a, b, data := twoServing(t)
	token := strings.TrimSpace(lm(t, data, "tokens", "add", "crm", "--role", "viewer").stdout)
	const calls, burst, perSecond = 80, 40, 20 // the API's defaults: burst 40, 20 a second
	var mu sync.Mutex
	answered, refused := 0, map[string]int{}
	var wg sync.WaitGroup
	jobs := make(chan string)
	start := time.Now()
	for range 8 {
		wg.Go(func() {
			for base := range jobs {
				req, _ := http.NewRequest("GET", base+"/api/v1/sources", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mu.Lock()
				switch res.StatusCode {
				case http.StatusOK:
					answered++
				case http.StatusTooManyRequests:
					refused[base]++
				default:
					t.Errorf("GET /api/v1/sources on %s: %d", base, res.StatusCode)
				}
				mu.Unlock()
			}
		})
	}
	for i := range calls {
		jobs <- []string{a.base, b.base}[i%2]
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d of %d calls answered, refusals %v, in %v", answered, calls, refused, elapsed)
	// Each process alone allows its 40 calls: with two allowances all 80 would be answered.
	most := burst + int(elapsed.Seconds()*perSecond) + 1
	if answered > most {
		t.Errorf("%d of %d calls answered in %v, want at most %d: the processes do not share the allowance", answered, calls, elapsed, most)
	}
	if refused[a.base] == 0 || refused[b.base] == 0 {
		t.Errorf("refusals per process: %v, want some from both (%d answered in %v)", refused, answered, elapsed)
	}
}

// The rows an import through one process rejected are read through the other, by the API
// and as the web app's download: they are in the database, and no data directory holds them.
func TestServeTwoProcessesShareImportRejects(t *testing.T) {
	a, b, data := twoServing(t)
	token := strings.TrimSpace(lm(t, data, "tokens", "add", "crm", "--role", "marketer").stdout)
	csv := "Email,Name,Company\ninfo@acme.fi,Matti,ACME Oy\nnot-an-address,Bad Row,Nowhere Ltd\n"
	req, _ := http.NewRequest("POST", a.base+"/api/v1/imports?source=fair&file_name=fair.csv", strings.NewReader(csv))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var imported struct {
		Run struct {
			ID     int64
			Counts struct{ Rejected int64 }
		}
	}
	if res.StatusCode != http.StatusCreated || json.Unmarshal(body, &imported) != nil || imported.Run.Counts.Rejected != 1 {
		t.Fatalf("import on process 1: %d %s, want 201 with one row rejected", res.StatusCode, body)
	}
	path := "/imports/" + strconv.FormatInt(imported.Run.ID, 10)

	req, _ = http.NewRequest("GET", b.base+"/api/v1"+path+"/rejects", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"row":3`) || !strings.Contains(string(body), `"email":"not-an-address"`) {
		t.Errorf("rejects by the API on process 2: %d %s, want row 3, not-an-address", res.StatusCode, body)
	}

	onB := loginWeb(t, b.base, "ada", "correct horse battery staple")
	status, download := onB.get(t, path+"/rejects.csv")
	if status != http.StatusOK || !strings.Contains(download, `"3","column 1 ""Email"": e-mail ""not-an-address"" has no @","not-an-address","Bad Row","Nowhere Ltd"`) {
		t.Errorf("rejects download on process 2: %d\n%s", status, download)
	}
	// Each process's data directory is the last argument of its serve command.
	for _, dir := range []string{data, b.cmd.Args[len(b.cmd.Args)-1]} {
		if _, err := os.Stat(filepath.Join(dir, "rejects")); !os.IsNotExist(err) {
			t.Errorf("%s has a rejects folder (%v): the rejects belong in the database", dir, err)
		}
	}
}
