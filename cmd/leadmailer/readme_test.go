package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// readmeSkipped are the README's commands that TestREADMECommands does not run, with why.
// Every entry must still be in the README, so that the list stays what is skipped.
var readmeSkipped = map[string]string{
	"go test ./...":        "runs the whole test suite",
	"go test -short ./...": "runs the whole test suite",
	"go test -run '^$' -fuzz FuzzImport ./importer/":  "fuzzes until stopped",
	"go test -bench Import ./importer/":               "a benchmark",
	"go test -bench Render -cpu 1 ./templates/":       "a benchmark",
	"bash bench/import.sh":                            "a benchmark of a million rows",
	"ROWS=3000000 bash bench/import.sh":               "a benchmark of three million rows",
	"BACKEND=postgres bash bench/import.sh":           "a benchmark of a million rows on a PostgreSQL cluster it starts",
	"BACKEND=postgres WRITERS=1 bash bench/import.sh": "a benchmark of a million rows on a PostgreSQL cluster it starts",
	"bash bench/send.sh":                              "a benchmark that needs Postfix's smtp-sink",
	"BACKEND=postgres PROCESSES=2 bash bench/send.sh": "a benchmark on a PostgreSQL cluster it starts, with smtp-sink",
	"bash bench/backup.sh":                            "a benchmark that builds a 300 MB database",
	"bash bench/bounces.sh":                           "a benchmark of 100,000 bounces",
	"ROWS=1000000 bash bench/pgfloor.sh":              "a benchmark of a million rows on a PostgreSQL cluster it starts",
	"go test -bench Parse ./bounce/":                  "a benchmark",
	"go test -bench IngestMbox ./feedback/":           "a benchmark",
	"bash .ci/run":                                    "installs packages, as CI does",
	"sudo apt-get install postgresql":                 "installs a package",
	"LEADMAILER_TEST_DATABASE_URL='postgres://me@localhost/postgres' go test ./store/ ./cmd/leadmailer/": "runs test suites against a server of one's own",
	"./leadmailer serve": "a server that runs until stopped",
	"leadmailer serve":   "a server that runs until stopped",
}

// readmeOutputs are what some README commands must print: a command about a lead the example
// data does not have can succeed all the same (an access request for an unknown address
// says so, an erasure suppresses the address), and it must not.
var readmeOutputs = []struct{ command, want, notWant string }{
	{command: "leads show anna.virtanen@example.fi", want: "Esimerkki Oy"},
	{command: "imports rejects 1", want: `"not-an-address","Bob Broken","Broken Ltd","GB"`},
	{command: "leads export anna.virtanen@example.fi", notWant: `"lead": null`},
	{command: "leads erase anna.virtanen@example.fi", notWant: "No lead had this address"},
	{command: "campaigns preview 1 --lead anna.virtanen@example.fi", want: "Osoitelähde"},
	{command: "campaigns preview 2 --lead anna.virtanen@example.fi", want: "Content-Language: en"},
	{command: "campaigns send 2", want: "sent"},
	{command: "imports show 2", want: "company-register"},
}

// readmeTerminal are the README's commands that ask for a password on the terminal: the test
// runs them on a pseudo-terminal and types one.
var readmeTerminal = map[string]bool{
	"./leadmailer init --admin admin":            true,
	"leadmailer init --admin anna":               true,
	"leadmailer users add mikko --role marketer": true,
}

// trailingComment matches a shell comment after a command, as the README writes them.
var trailingComment = regexp.MustCompile(`\s+#\s.*$|^#.*$`)

// readmeCommands returns the commands of the README's ```sh blocks, in order, without their
// comments, continued lines joined. Blocks fenced ```shell need what a fresh clone does not
// have (a PostgreSQL server to connect to) and are not run.
func readmeCommands(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	inBlock, cont := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !inBlock && strings.TrimSpace(line) == "```sh":
			inBlock = true
			continue
		case inBlock && strings.HasPrefix(line, "```"):
			inBlock = false
			continue
		case !inBlock:
			continue
		}
		line = strings.TrimSpace(trailingComment.ReplaceAllString(line, ""))
		if c, ok := strings.CutSuffix(line, "\\"); ok {
			cont += strings.TrimSpace(c) + " "
			continue
		}
		if line = cont + line; line != "" {
			cmds = append(cmds, line)
		}
		cont = ""
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}

// TestREADMECommands runs the README's shell commands in order, as a newcomer types them in
// a fresh clone after the quick start: with ./leadmailer built by the quick start (and on
// PATH as leadmailer), in a folder that has the examples, on a fresh data directory.
// Commands that need a server or run for long are skipped, as readmeSkipped lists them.
func TestREADMECommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds leadmailer and runs the README's commands")
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if err := os.Symlink(filepath.Join(repo, "examples"), filepath.Join(work, "examples")); err != nil {
		t.Fatal(err)
	}
	vars := []string{
		"PATH=" + work + string(os.PathListSeparator) + os.Getenv("PATH"),
		"LEADMAILER_DATA=" + filepath.Join(work, "leadmailer-data"),
		"LEADMAILER_BIN=" + filepath.Join(work, "leadmailer"),
		"PASSWORD=a password long enough",
		"TERM=dumb",
	}
	env := append(os.Environ(), vars...)
	for _, v := range []string{"LEADMAILER_CONFIG", "LEADMAILER_SMTP_URL"} {
		env = append(env, v+"=")
	}
	cmds := readmeCommands(t, filepath.Join(repo, "README.md"))
	seen, checked := map[string]bool{}, map[string]bool{}
	ran := 0
	for _, c := range cmds {
		seen[c] = true
		if _, skip := readmeSkipped[c]; skip {
			continue
		}
		// An export changes the environment of the commands after it, as in the shell.
		if kv, ok := strings.CutPrefix(c, "export "); ok {
			env = append(env, os.ExpandEnv(kv))
			continue
		}
		ran++
		cmd := exec.Command("bash", "-c", "set -o pipefail; "+c)
		cmd.Dir, cmd.Env = work, env
		var out []byte
		var err error
		if readmeTerminal[c] {
			out, err = runOnTerminal(t, cmd, "a password long enough\n")
		} else {
			out, err = cmd.CombinedOutput()
		}
		if err != nil {
			t.Fatalf("README command %q: %v\n%s", c, err, out)
		}
		for _, w := range readmeOutputs {
			if strings.Contains(c, w.command) {
				checked[w.command] = true
				if w.want != "" && !strings.Contains(string(out), w.want) {
					t.Errorf("README command %q: output does not contain %q:\n%s", c, w.want, out)
				}
				if w.notWant != "" && strings.Contains(string(out), w.notWant) {
					t.Errorf("README command %q: %q in its output:\n%s", c, w.notWant, out)
				}
			}
		}
	}
	for _, w := range readmeOutputs {
		if !checked[w.command] {
			t.Errorf("no README command runs %q any more", w.command)
		}
	}
	for c := range readmeSkipped {
		if !seen[c] {
			t.Errorf("readmeSkipped lists %q, which the README no longer has", c)
		}
	}
	for c := range readmeTerminal {
		if !seen[c] {
			t.Errorf("readmeTerminal lists %q, which the README no longer has", c)
		}
	}
	if ran < 25 {
		t.Errorf("ran only %d README commands of %d", ran, len(cmds))
	}
	t.Logf("ran %d README commands, skipped %d", ran, len(cmds)-ran)
}

// runOnTerminal runs cmd with a pseudo-terminal as its terminal and types password, twice,
// once the command asks for it.
func runOnTerminal(t *testing.T, cmd *exec.Cmd, password string) ([]byte, error) {
	t.Helper()
	f, err := pty.Start(cmd)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer f.Close()
	go func() {
		// The terminal keeps what is typed early until the prompt reads it.
		time.Sleep(100 * time.Millisecond)
		io.WriteString(f, password+password)
	}()
	out, _ := io.ReadAll(f)
	return out, cmd.Wait()
}
