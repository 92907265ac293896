package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/leadmailer/leadmailer/auth"
)

// TestInitAdminOnATerminalAsksAgain runs "init --admin" with a pseudo-terminal as standard
// input, as a user at a terminal runs it: a password that is too short is explained and asked
// for again, and so is a repetition that differs, instead of ending the command.
func TestInitAdminOnATerminalAsksAgain(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	// The terminal echoes what is typed until the prompt turns echo off; drain it so that
	// the terminal's buffer never fills.
	go io.Copy(io.Discard, ptmx)
	const good = "a long enough password"
	if _, err := io.WriteString(ptmx, "zq7Xk\n"+good+"\n"+"a different password\n"+good+"\n"+good+"\n"); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: tty, stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return map[string]string{"LEADMAILER_DATA": data}[k] }}
	if code := run(t.Context(), []string{"init", "--admin", "anna"}, e); code != exitOK {
		t.Fatalf("init --admin on a terminal: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	mustContain(t, "prompts", stderr.String(), "the password is 5 characters long; use at least 12. Try again.",
		"The two passwords differ. Try again.")
	if n := strings.Count(stderr.String(), "New password"); n != 3 {
		t.Errorf("asked for the password %d times, want 3:\n%s", n, stderr.String())
	}
	mustContain(t, "output", stdout.String(), "Added anna with role admin.")
	u, err := openTestData(t, data).FindUserByName(t.Context(), "anna")
	if err != nil {
		t.Fatal(err)
	}
	if !auth.VerifyPassword(u.PasswordHash, good) {
		t.Error("the stored password is not the one typed last")
	}
}

// TestPasswordPromptGivesUp: after three failed attempts the prompt ends with the last
// reason, and a read error ends it at once.
func TestPasswordPromptGivesUp(t *testing.T) {
	lines := []string{"short", "x", "tiny"}
	var w bytes.Buffer
	_, err := promptNewPassword(&w, "anna", func() ([]byte, error) {
		if len(lines) == 0 {
			return nil, io.EOF
		}
		l := lines[0]
		lines = lines[1:]
		return []byte(l), nil
	})
	if err == nil || !strings.Contains(err.Error(), "no password after 3 attempts") || !strings.Contains(err.Error(), "use at least 12") {
		t.Errorf("after three short passwords: %v", err)
	}
	if _, err := promptNewPassword(io.Discard, "anna", func() ([]byte, error) { return nil, io.ErrUnexpectedEOF }); err == nil {
		t.Error("a read error did not end the prompt")
	}
}

// TestInitAdminWithoutTerminal: without a terminal, init --admin says how to give the
// password on standard input, and creates no user.
func TestInitAdminWithoutTerminal(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: f, stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return map[string]string{"LEADMAILER_DATA": data}[k] }}
	if code := run(t.Context(), []string{"init", "--admin", "anna"}, e); code != exitUsage {
		t.Errorf("init --admin without a terminal: exit %d, want %d", code, exitUsage)
	}
	mustContain(t, "stderr", stderr.String(), "--password-stdin", `printf '%s\n' "$PASSWORD"`)
}
