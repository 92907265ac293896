package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/publicweb"
	"github.com/leadmailer/leadmailer/store"
)

// serveWithConfig starts a real serve process with the given configuration, and returns its
// address and data directory.
func serveWithConfig(t *testing.T, config string) (addr, data string) {
	t.Helper()
	data = t.TempDir()
	lmIn(t, data, "admin password 1\n", "init", "--admin", "ada", "--password-stdin")
	cfg := filepath.Join(t.TempDir(), "leadmailer.toml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr = freeAddr(t)
	c := startLeadmailer(t, "serve", "--listen", addr, "--data", data, "--config", cfg)
	waitServing(t, c, "http://"+addr)
	return addr, data
}

// serveWithTimeouts starts serve with [web] timeouts of one second.
func serveWithTimeouts(t *testing.T) string {
	t.Helper()
	addr, _ := serveWithConfig(t, "[web]\nread_timeout = \"1s\"\nidle_timeout = \"1s\"\n")
	return addr
}

// closed reads conn until the server closes it, and then closes the channel it returns.
func closed(conn net.Conn) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn)
		close(done)
	}()
	return done
}

// A client that sends its body a byte a second (a slow-loris login) is cut off once the read
// timeout has passed, not served for as long as it likes to trickle.
func TestServeCutsOffTricklingBody(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	addr := serveWithTimeouts(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const size = 60 // a minute's worth at a byte a second
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", addr, size)
	done := closed(conn)
	sent := 0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for sent < size {
		if _, err := conn.Write([]byte("n")); err != nil {
			break
		}
		sent++
		select {
		case <-done:
		case <-tick.C:
			continue
		}
		break
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("the server still reads a body trickled a byte a second after %d seconds", sent)
	}
	// With a one-second read timeout the server gives up after a byte or two; a slack of ten
	// leaves room for a busy machine.
	if sent >= 10 {
		t.Errorf("the server read %d bytes, one a second, before it cut the client off; want it gone after about one", sent)
	}
	t.Logf("cut off after %d bytes at a byte a second", sent)
}

// A kept-alive connection that sends nothing more is closed once the idle timeout has passed.
func TestServeClosesIdleConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	addr := serveWithTimeouts(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /login HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: read %v, want the server to close it (EOF)", err)
	}
	t.Logf("idle connection closed after %v", time.Since(start).Round(time.Millisecond))
}

// With the test's own address as a trusted proxy, serve takes the client's address from
// X-Forwarded-For for the web app's logins and the public query endpoint alike.
func TestServeBelievesTrustedProxyForLoginsAndQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	addr, data := serveWithConfig(t, "[web]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n")
	post := func(path, xff string, form url.Values) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "192.0.2.200, "+xff) // the left entry is the client's own claim
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := post("/login", "203.0.113.9", url.Values{"name": {"ada"}, "password": {"not the password"}}); got != http.StatusUnauthorized {
		t.Fatalf("failed login: status %d, want 401", got)
	}
	if got := post("/query", "198.51.100.7", url.Values{"email": {"visitor@example.org"}, "message": {"Hello"}}); got != http.StatusOK {
		t.Fatalf("query: status %d, want 200", got)
	}
	db := openTestData(t, data)
	ips := map[string]string{}
	if err := db.FindAuditEntries(t.Context(), store.AuditFilter{}, func(e *leadmailer.AuditEntry) error {
		ips[e.Action] = e.IP
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ips[leadmailer.AuditLoginFailed] != "203.0.113.9" || ips[publicweb.AuditQuery] != "198.51.100.7" {
		t.Errorf("audited addresses %v: want the failed login from 203.0.113.9 and the query from 198.51.100.7", ips)
	}
}
