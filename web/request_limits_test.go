package web

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
)

// A multipart form is read like any other: without the session's form token it is refused,
// whatever route it goes to. Before, the token check skipped every multipart POST, so a page
// on another site (or a script that got past the origin check) could add an admin.
func TestMultipartFormNeedsFormToken(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("ada", leadmailer.RoleAdmin)
	c := a.login("ada")
	post := func(csrf string) response {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if csrf != "" {
			mw.WriteField("csrf", csrf)
		}
		for _, kv := range [][2]string{{"name", "mallory"}, {"role", "admin"},
			{"password", "a very long secret phrase"}, {"password2", "a very long secret phrase"}} {
			mw.WriteField(kv[0], kv[1])
		}
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, a.ts.URL+"/users", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return c.do(req)
	}
	for _, token := range []string{"", "forged-token"} {
		if res := post(token); res.status != http.StatusForbidden {
			t.Errorf("multipart POST /users with form token %q: status %d, want 403", token, res.status)
		}
	}
	if a.userExists("mallory") {
		t.Fatal("a multipart form without the form token added an admin")
	}
	// The same form with the session's token is an admin's own request.
	if res := post(c.csrf); res.status != http.StatusSeeOther || !a.userExists("mallory") {
		t.Errorf("multipart POST /users with the form token: status %d, user created %v; want 303 and the user",
			res.status, a.userExists("mallory"))
	}
}

// zeroReader is an endless body of zeros.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// rawPost sends a request with the given headers and a body of declared length size, of
// which prefix comes first and zeros follow, over a plain TCP connection, and stops sending
// once the server answers or stops reading. It returns the status and how many body bytes
// the server took from the socket at most (what was written; some of it sits unread in
// socket buffers).
func rawPost(t *testing.T, a *testApp, path string, header http.Header, prefix string, size int64) (status int, written int64) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var head strings.Builder
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", path, strings.TrimPrefix(a.ts.URL, "http://"), size)
	header.Write(&head)
	head.WriteString("\r\n")
	if _, err := io.WriteString(conn, head.String()); err != nil {
		t.Fatal(err)
	}
	done := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(conn, io.LimitReader(io.MultiReader(strings.NewReader(prefix), zeroReader{}), size))
		done <- n
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s: no answer: %v", path, err)
	}
	res.Body.Close()
	conn.Close() // ends the writer if the server left the connection open
	return res.StatusCode, <-done
}

// An anonymous visitor cannot make the login form read a huge body: a 300 MiB multipart
// login is refused with 415 after the headers, and a 300 MiB urlencoded one with 413 after the
// first 8 KiB, and neither leaves temporary files behind.
func TestHugeLoginBodiesRefusedUnread(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("anna", leadmailer.RoleViewer)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where multipart parsing would spool a file part
	const size = 300 << 20
	const boundary = "xyzzy"
	multi := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nanna\r\n--" + boundary +
		"\r\nContent-Disposition: form-data; name=\"password\"; filename=\"p.bin\"\r\n\r\n"
	for _, tc := range []struct {
		contentType, prefix string
		want                int
	}{
		{"multipart/form-data; boundary=" + boundary, multi, http.StatusUnsupportedMediaType},
		{"application/x-www-form-urlencoded", "name=anna&password=", http.StatusRequestEntityTooLarge},
	} {
		status, written := rawPost(t, a, "/login", http.Header{"Content-Type": {tc.contentType}}, tc.prefix, size)
		if status != tc.want {
			t.Errorf("300 MiB login as %s: status %d, want %d", tc.contentType, status, tc.want)
		}
		t.Logf("300 MiB login as %s: %d after at most %d KiB sent", tc.contentType, status, written>>10)
		// Loopback socket buffers take a few MiB before a write blocks; anything near the
		// body's size means the server read it.
		if written > 32<<20 {
			t.Errorf("300 MiB login as %s: the server took %d MiB of it", tc.contentType, written>>20)
		}
	}
	if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
		t.Errorf("huge logins left %d temporary files", len(entries))
	}
	if res := a.client().post("/login", url.Values{"name": {"anna"}, "password": {password("anna")}}); res.status != http.StatusSeeOther {
		t.Errorf("an ordinary login after them: status %d, want 303", res.status)
	}
}

// Every page's form has a body limit; a logged-in user cannot post more either.
func TestFormBodyLimited(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("ada", leadmailer.RoleAdmin)
	c := a.login("ada")
	big := url.Values{"name": {"bert"}, "role": {"viewer"}, "note": {strings.Repeat("x", formBodyLimit)}}
	if res := c.post("/users", big); res.status != http.StatusRequestEntityTooLarge {
		t.Errorf("POST /users with a %d KiB form: status %d, want 413", formBodyLimit>>10, res.status)
	}
	if a.userExists("bert") {
		t.Error("an oversized form was acted on")
	}
}

// The login limit leaves room for what a real login sends: the longest password accepted,
// every byte of it percent-encoded, and a long page to return to.
func TestLongestLoginFitsTheLimit(t *testing.T) {
	a := newTestApp(t, Options{})
	pw := strings.Repeat("%&", 512) // 1,024 bytes, 3 KiB encoded
	h, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.db.CreateUser(t.Context(), &leadmailer.User{Name: "anna", Role: leadmailer.RoleViewer, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	next := "/leads?q=" + strings.Repeat("x", 1500)
	res := a.client().post("/login", url.Values{"name": {"anna"}, "password": {pw}, "next": {next}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != next {
		t.Errorf("login with a 1,024-byte password: status %d, Location %.40q; want 303 to the page asked for", res.status, res.header.Get("Location"))
	}
}
