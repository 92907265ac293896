package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWordingFromConfig shows that [wording.fi] in the configuration reaches the notice of a
// message as preview renders it, and that keys left out keep leadmailer's own text.
func TestWordingFromConfig(t *testing.T) {
	t.Parallel()
	examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(examples, "leadmailer.toml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := strings.Replace(string(example), `path = "registry.csv"`, `path = "`+filepath.Join(examples, "registry.csv")+`"`, 1) +
		"\n[wording.fi]\nsource_heading = \"Tietolähde\"\n"
	cfgPath := filepath.Join(dir, "leadmailer.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"LEADMAILER_DATA": filepath.Join(dir, "data"), "LEADMAILER_CONFIG": cfgPath}
	run := func(args ...string) string {
		t.Helper()
		r := runCLI(t, vars, "", args...)
		if r.code != exitOK {
			t.Fatalf("leadmailer %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}
	run("import", filepath.Join(examples, "leads.csv"), "--source", "crm-export")
	run("sources", "run", "company-register")
	run("campaigns", "create", "--name", "N", "--subject", "Hello", "--html", filepath.Join(examples, "spring.html"))
	out := run("campaigns", "preview", "1", "--lead", "anna.virtanen@example.fi", "--text")
	mustContain(t, "preview", out, "Tietolähde\n", "Open company register (example data)",
		"Oikeutesi kieltää suoramarkkinointi")
	if strings.Contains(out, "Osoitelähde") {
		t.Errorf("the default heading is still there:\n%s", out)
	}
}
