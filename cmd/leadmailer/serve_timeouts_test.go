package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// serveWithTimeouts starts a real serve process whose [web] timeouts are one second, and
// returns its address.
func serveWithTimeouts(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	lmIn(t, data, "admin password 1\n", "init", "--admin", "ada", "--password-stdin")
	cfg := filepath.Join(t.TempDir(), "leadmailer.toml")
	if err := os.WriteFile(cfg, []byte("[web]\nread_timeout = \"1s\"\nidle_timeout = \"1s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	c := startLeadmailer(t, "serve", "--listen", addr, "--data", data, "--config", cfg)
	waitServing(t, c, "http://"+addr)
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
