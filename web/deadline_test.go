package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
)

// withServerTimeouts serves the app again from a server with short read and write timeouts,
// as serve configures them from [web], and points the test's clients at it.
//
// Its connections have small socket buffers. Loopback tunes its buffers to megabytes, and a
// writer blocked on a full socket is woken only once half of what is queued has drained, so
// with large buffers one 32 KiB write can wait a second for a slow reader; over a real
// network the link, not the buffers, sets the pace.
func (a *testApp) withServerTimeouts(read, write time.Duration) {
	a.t.Helper()
	ts := httptest.NewUnstartedServer(a.s.Handler())
	ts.Config.ReadTimeout, ts.Config.WriteTimeout = read, write
	ts.Listener = smallBuffers{ts.Listener}
	ts.Start()
	a.t.Cleanup(ts.Close)
	a.ts = ts
}

type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(64 << 10)
		tc.SetReadBuffer(64 << 10)
	}
	return c, err
}

// The server's write timeout bounds an ordinary answer, but a download of rejected rows that
// takes several times longer, to a client reading at a steady pace, completes: each chunk
// gets the timeout anew.
func TestLongRejectsDownloadOutlastsWriteTimeout(t *testing.T) {
	// Two seconds, so that a machine busy with other work still writes each chunk in time.
	const timeout = 2 * time.Second
	a := newTestApp(t, Options{WriteTimeout: timeout})
	a.addUser("mark", leadmailer.RoleMarketer)
	m := a.login("mark")
	// An upload of 22,000 bad rows, as a big import with many bad rows leaves: its rejects
	// download as a file of about 6.5 MiB, streamed from the database.
	var upload strings.Builder
	upload.WriteString("email,name\n")
	for i := range 22_000 {
		fmt.Fprintf(&upload, "not-an-email-%d-%s,Name %d\n", i, strings.Repeat("x", 100), i)
	}
	runID := importFileThroughWeb(t, a, m, "bad.csv", []byte(upload.String()), "fair", nil, nil)
	var file bytes.Buffer
	cw := importer.NewRejectsCSV(&file)
	if err := a.db.EachImportReject(t.Context(), runID, cw.Write); err != nil {
		t.Fatal(err)
	}
	cw.Flush()
	big := file.String()
	if len(big) < 6<<20 {
		t.Fatalf("the rejects make %d bytes, want at least 6 MiB", len(big))
	}
	a.withServerTimeouts(time.Minute, timeout)

	// A client with a small receive buffer, reading 32 KiB every 25 ms (about 1.3 MB a
	// second, so about 5 seconds in all): slow but steady.
	hc := &http.Client{Jar: m.http.Jar, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(64 << 10)
		}
		return c, err
	}}}
	req, _ := http.NewRequest(http.MethodGet, a.ts.URL+"/imports/"+itoa(runID)+"/rejects.csv", nil)
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	start := time.Now()
	var got int
	buf := make([]byte, 32<<10)
	for {
		n, err := io.ReadFull(res.Body, buf)
		got += n
		if err != nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	took := time.Since(start)
	if res.StatusCode != http.StatusOK || got != len(big) {
		t.Fatalf("download: status %d, %d of %d bytes in %v", res.StatusCode, got, len(big), took)
	}
	if took < timeout*3/2 {
		t.Fatalf("the download took %v, not much longer than the write timeout: the test proves nothing", took)
	}
	t.Logf("downloaded %d MiB in %v with a write timeout of %v", got>>20, took.Round(time.Millisecond), timeout)
}

// pacedReader hands out data in chunks with a pause before each.
type pacedReader struct {
	r     io.Reader
	chunk int
	pause time.Duration
}

func (p *pacedReader) Read(b []byte) (int, error) {
	time.Sleep(p.pause)
	return p.r.Read(b[:min(len(b), p.chunk)])
}

// An upload that arrives steadily goes on past the read timeout; one that trickles is cut off.
func TestUploadReadDeadline(t *testing.T) {
	const timeout = 2 * time.Second
	a := newTestApp(t, Options{ReadTimeout: timeout})
	a.addUser("mark", leadmailer.RoleMarketer)
	m := a.login("mark")
	m.get("/upload")
	a.withServerTimeouts(timeout, time.Minute)
	csv := "email,name\n" + strings.Repeat("someone@example.com,Some One\n", (1<<20)/29)
	upload := func(chunk int, pause time.Duration) (int, error) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf", m.csrf)
		mw.WriteField("source", "fair")
		mw.WriteField("kind", "upload")
		fw, _ := mw.CreateFormFile("file", "big.csv")
		io.WriteString(fw, csv)
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, a.ts.URL+"/upload", &pacedReader{r: &buf, chunk: chunk, pause: pause})
		req.ContentLength = int64(buf.Len())
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res, err := m.http.Do(req)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	// 1 MiB in 32 KiB chunks (what the client asks for at a time), 150 ms apart: about
	// 5 s, over twice the read timeout.
	start := time.Now()
	if status, err := upload(32<<10, 150*time.Millisecond); err != nil || status != http.StatusSeeOther {
		t.Errorf("steady upload for %v: status %d, %v; want 303", time.Since(start).Round(time.Millisecond), status, err)
	} else if took := time.Since(start); took < timeout*3/2 {
		t.Errorf("the steady upload took %v, not much longer than the read timeout: the test proves nothing", took)
	}
	// 100 bytes every 100 ms: 1 KB a second, which would take 17 minutes.
	start = time.Now()
	status, err := upload(100, 100*time.Millisecond)
	if err == nil && status == http.StatusSeeOther {
		t.Errorf("trickling upload accepted after %v", time.Since(start))
	}
	t.Logf("trickling upload cut off after %v: %v", time.Since(start).Round(time.Millisecond), fmt.Sprint(status, " ", err))
}
