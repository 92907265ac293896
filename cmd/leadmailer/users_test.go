package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
	"github.com/leadmailer/leadmailer/store"
	_ "github.com/mattn/go-sqlite3"
)

// lmIn runs a command with stdin and fails the test unless it succeeds.
func lmIn(t *testing.T, data, stdin string, args ...string) result {
	t.Helper()
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, stdin, args...)
	if r.code != exitOK {
		t.Fatalf("leadmailer %s: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func openTestData(t *testing.T, data string) *store.DB {
	t.Helper()
	db, err := openData(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestInitAdminAndUsers(t *testing.T) {
	data := t.TempDir()
	r := lmIn(t, data, "first admin password\n", "init", "--admin", "anna", "--password-stdin")
	mustContain(t, "init output", r.stdout, "Added anna with role admin.")
	lmIn(t, data, "marketer password 1\n", "users", "add", "bert", "--role", "marketer", "--password-stdin")

	var users []leadmailer.User
	lmJSON(t, data, &users, "users", "list", "--json")
	if len(users) != 2 || users[0].Name != "anna" || users[0].Role != leadmailer.RoleAdmin ||
		users[1].Name != "bert" || users[1].Role != leadmailer.RoleMarketer {
		t.Fatalf("users list: %+v", users)
	}
	r = lm(t, data, "users", "list")
	mustContain(t, "users list", squash(r.stdout), "NAME ROLE STATUS", "anna admin active", "bert marketer active")
	if strings.Contains(lm(t, data, "users", "list", "--json").stdout, "argon2") {
		t.Error("users list --json shows password hashes")
	}

	db := openTestData(t, data)
	u, err := db.FindUserByName(t.Context(), "bert")
	if err != nil {
		t.Fatal(err)
	}
	if !auth.VerifyPassword(u.PasswordHash, "marketer password 1") {
		t.Error("bert's stored hash does not verify the password given on stdin")
	}

	// A session of bert's ends when his password changes, and again when he is disabled.
	newSession := func() string {
		tok := auth.NewToken()
		s := &leadmailer.Session{TokenHash: auth.HashToken(tok), UserID: u.ID, CSRFToken: "x"}
		if err := db.CreateSession(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		return s.TokenHash
	}
	for _, args := range [][]string{{"users", "passwd", "bert", "--password-stdin"}, {"users", "disable", "bert"}} {
		h := newSession()
		lmIn(t, data, "another password 2\n", args...)
		if _, err := db.FindSession(t.Context(), h); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
			t.Errorf("after %s: session still found (err %v)", strings.Join(args, " "), err)
		}
	}
	r = lm(t, data, "users", "list")
	mustContain(t, "users list", squash(r.stdout), "bert marketer disabled")

	var entries []leadmailer.AuditEntry
	lmJSON(t, data, &entries, "audit", "--action", "user.", "--json")
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" "+e.Target)
		if !strings.HasPrefix(e.Actor, "os:") {
			t.Errorf("entry %d: actor %q, want the OS user", e.ID, e.Actor)
		}
	}
	want := "user.disable bert|user.password bert|user.create bert|user.create anna"
	if strings.Join(got, "|") != want {
		t.Errorf("user audit entries, newest first:\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
}

func TestUsersErrors(t *testing.T) {
	data := t.TempDir()
	lmIn(t, data, "first admin password\n", "init", "--admin", "anna", "--password-stdin")
	for _, tc := range []struct {
		args  []string
		stdin string
		code  int
		want  string
	}{
		{[]string{"users", "add", "bert", "--role", "boss", "--password-stdin"}, "long enough password\n", exitUsage, `--role "boss"`},
		{[]string{"users", "add", "bert", "--role", "viewer", "--password-stdin"}, "too short\n", exitError, "at least 12"},
		{[]string{"users", "add", "bert", "--role", "viewer"}, "", exitUsage, "--password-stdin"},
		{[]string{"users", "add", "anna", "--role", "viewer", "--password-stdin"}, "long enough password\n", exitError, `user "anna" already exists`},
		{[]string{"users", "add", "b<rt", "--role", "viewer", "--password-stdin"}, "long enough password\n", exitError, "use only letters"},
		{[]string{"users", "add", "bert", "--role", "viewer", "--password", "x"}, "", exitUsage, "-password"},
		{[]string{"users", "disable", "nobody"}, "", exitError, `no user "nobody"`},
		{[]string{"users", "passwd", "nobody", "--password-stdin"}, "long enough password\n", exitError, `no user "nobody"`},
	} {
		r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, tc.stdin, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.want)
		}
	}
}

func TestAuditRecordsLeadReadsAndImports(t *testing.T) {
	data := importFixtures(t)
	lm(t, data, "leads", "list", "--country", "FI")
	lm(t, data, "leads", "show", "anna.virtanen@example.fi")
	var entries []leadmailer.AuditEntry
	lmJSON(t, data, &entries, "audit", "--json", "--since", "1h")
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" "+e.Target)
	}
	joined := strings.Join(got, "|")
	for _, want := range []string{"lead.view lead 1", "lead.list ", "import.run run 1"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit entries %q: missing %q", joined, want)
		}
	}
	if strings.Contains(joined, "anna.virtanen") {
		t.Errorf("audit entries %q name a lead by address: the trail outlives erasure, so it names leads by ID", joined)
	}
	// Reading the audit trail is itself recorded, before it is read.
	if entries[0].Action != leadmailer.AuditAuditView || entries[1].Action != leadmailer.AuditLeadView ||
		entries[1].Actor != actor(&env{getenv: func(string) string { return "" }}) {
		t.Errorf("newest entries %+v, %+v: want audit.view, then lead.view by the OS user", entries[0], entries[1])
	}
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sql    string
		broken string
	}{
		{"altered", `UPDATE audit_log SET target = 'someone-else' WHERE id = 3`, "entry 3: its contents were altered"},
		{"deleted", `DELETE FROM audit_log WHERE id = 2`, "entry 3: entries 2 to 2 are missing"},
		{"reordered", `UPDATE audit_log SET id = id + 100 WHERE id IN (2, 3);
			UPDATE audit_log SET id = 3 WHERE id = 102; UPDATE audit_log SET id = 2 WHERE id = 103`, "entry 2: does not follow entry 1"},
		{"rehashed", `UPDATE audit_log SET detail = 'x', hash = 'f00' WHERE id = 2`, "entry 2: its contents were altered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			for _, name := range []string{"anna", "bert", "cecilia", "dave"} {
				lmIn(t, data, "a long password\n", "users", "add", name, "--role", "viewer", "--password-stdin")
			}
			r := lm(t, data, "audit", "verify")
			mustContain(t, "verify output", r.stdout, "The audit trail is intact: 4 entries")

			// Tamper with the file as someone with write access to it would: drop the
			// triggers that keep the table append-only, then change rows.
			raw, err := sql.Open("sqlite3", filepath.Join(data, dbFile))
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(`DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; ` + tc.sql); err != nil {
				t.Fatal(err)
			}
			raw.Close()

			r = runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "audit", "verify")
			if r.code != exitError || !strings.Contains(r.stderr, "broken at "+tc.broken) {
				t.Errorf("verify after tampering: exit %d, stderr %q; want exit 1 naming %q", r.code, r.stderr, tc.broken)
			}
		})
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	data := t.TempDir()
	lmIn(t, data, "a long password\n", "users", "add", "anna", "--role", "viewer", "--password-stdin")
	raw, err := sql.Open("sqlite3", filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`UPDATE audit_log SET actor = 'x'`, `DELETE FROM audit_log`} {
		if _, err := raw.ExecContext(context.Background(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err %v, want the append-only refusal", q, err)
		}
	}
}
