package main

import (
	"io"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// TestQuickstart runs the steps of examples/quickstart.sh, the README's first command, on the
// example files, and checks what the README says a newcomer will see.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "leadmailer-data")
	vars := map[string]string{"LEADMAILER_DATA": data, "LEADMAILER_CONFIG": filepath.Join(examples, "leadmailer.toml")}
	run := func(args ...string) string {
		t.Helper()
		r := runCLI(t, vars, "", args...)
		if r.code != exitOK {
			t.Fatalf("leadmailer %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}

	imported := run("import", filepath.Join(examples, "leads.csv"), "--source", "crm-export")
	mustContain(t, "import report", imported, "rows read 5", "inserted 3", "duplicates in file 1", "rejected 1")
	register := run("sources", "run", "company-register")
	mustContain(t, "register run", register, "updated 2", "skipped (no e-mail, no lead) 1")
	run("campaigns", "create", "--name", "Spring offer", "--subject", `Pallets for {{default "you" .Lead.Company}}`,
		"--html", filepath.Join(examples, "spring.html"), "--body-language", "en")
	mustContain(t, "send", run("campaigns", "send", "1"), "2 sent, 0 failed, 1 skipped")

	// The lock files of the source and the campaign are in locks/, not among the files
	// a user reads in the data directory.
	if stray, _ := filepath.Glob(filepath.Join(data, "*.lock")); len(stray) > 0 {
		t.Errorf("lock files left in the data directory: %v", stray)
	}
	for _, name := range []string{"campaign-1.lock", "source-company-register.lock"} {
		if !exists(t, filepath.Join(data, "locks", name)) {
			t.Errorf("locks/%s is missing", name)
		}
	}

	eml, err := filepath.Glob(filepath.Join(data, "outbox", "*.eml"))
	if err != nil || len(eml) != 2 {
		t.Fatalf("outbox holds %v (%v), want two messages: Anna's and Lars's", eml, err)
	}
	for _, path := range eml {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s is not a mail message: %v", path, err)
		}
		raw, _ := os.ReadFile(path)
		switch to := m.Header.Get("To"); {
		case strings.Contains(to, "anna.virtanen@example.fi"):
			// Her city came from the register: the notice names it, in Finnish.
			mustContain(t, "Anna's message", string(raw), "Osoitel=C3=A4hde", "Open company register (example data)", "Content-Language: en")
		case strings.Contains(to, "lars.lindqvist@example.se"):
			mustContain(t, "Lars's message", string(raw), "Open company register (example data)")
		default:
			t.Errorf("a message to %q: only Anna and Lars are in the audience (Jürgen has not consented)", to)
		}
	}
}

// TestQuickstartScriptOutput runs examples/quickstart.sh itself, piped as in a CI log and on a
// terminal: escape sequences for bold commands only on the terminal, and counts in plain
// English either way.
func TestQuickstartScriptOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds leadmailer and runs the quick start twice")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash")
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "examples", "quickstart.sh"))
	if err != nil {
		t.Fatal(err)
	}
	quickstart := func(t *testing.T) *exec.Cmd {
		dir := t.TempDir()
		cmd := exec.Command("bash", script)
		cmd.Env = append(os.Environ(), "LEADMAILER_DATA="+filepath.Join(dir, "data"), "LEADMAILER_BIN="+filepath.Join(dir, "leadmailer"), "TERM=xterm", "NO_COLOR=")
		return cmd
	}
	t.Run("piped", func(t *testing.T) {
		out, err := quickstart(t).CombinedOutput()
		if err != nil {
			t.Fatalf("quickstart.sh: %v\n%s", err, out)
		}
		if strings.Contains(string(out), "\x1b") {
			t.Errorf("piped output holds escape sequences:\n%q", out)
		}
		mustContain(t, "output", string(out), "$ ", "campaigns send", "2 sent, 0 failed, 1 skipped")
		if strings.Contains(string(out), "(s)") {
			t.Errorf("output counts with (s):\n%s", out)
		}
	})
	t.Run("terminal", func(t *testing.T) {
		cmd := quickstart(t)
		f, err := pty.Start(cmd)
		if err != nil {
			t.Skipf("no pseudo-terminal: %v", err)
		}
		defer f.Close()
		out, _ := io.ReadAll(f) // ends with an error once the script exits
		if err := cmd.Wait(); err != nil {
			t.Fatalf("quickstart.sh on a terminal: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "\x1b[1m$ ") {
			t.Errorf("on a terminal the commands are not bold:\n%q", out)
		}
	})
}
