package main

import (
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		"--html", filepath.Join(examples, "spring.html"))
	mustContain(t, "send", run("campaigns", "send", "1"), "2 sent, 0 failed, 1 skipped")

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
			mustContain(t, "Anna's message", string(raw), "Osoitel=C3=A4hde", "Open company register (example data)")
		case strings.Contains(to, "lars.lindqvist@example.se"):
			mustContain(t, "Lars's message", string(raw), "Open company register (example data)")
		default:
			t.Errorf("a message to %q: only Anna and Lars are in the audience (Jürgen has not consented)", to)
		}
	}
}
