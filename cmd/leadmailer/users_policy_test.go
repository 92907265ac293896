package main

import (
	"strings"
	"testing"
)

// "users add" and "users passwd" refuse the passwords a guesser tries first: common ones, and
// ones made of the user's own name.
func TestUsersRefuseCommonAndNamePasswords(t *testing.T) {
	data := t.TempDir()
	lmIn(t, data, "first admin password\n", "init", "--admin", "anna", "--password-stdin")
	for _, tc := range []struct {
		args []string
		pw   string
		want string
	}{
		{[]string{"users", "add", "christina", "--role", "viewer"}, "password123", "common"},
		{[]string{"users", "add", "christina", "--role", "viewer"}, "Password2024!", "common"},
		{[]string{"users", "add", "christina", "--role", "viewer"}, "christina2024", "user name"},
		{[]string{"users", "passwd", "anna"}, "password123", "common"},
		{[]string{"users", "passwd", "anna"}, "anna2024anna", "user name"},
	} {
		args := append(tc.args, "--password-stdin")
		r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, tc.pw+"\n", args...)
		if r.code != exitError || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s with password %q: exit %d, stderr %q; want exit %d naming %q", strings.Join(args, " "), tc.pw, r.code, r.stderr, exitError, tc.want)
		}
	}
	if r := lm(t, data, "users", "list"); strings.Contains(r.stdout, "christina") {
		t.Errorf("a refused password still added the user:\n%s", r.stdout)
	}
	// anna's password is unchanged, and a good one is taken.
	lmIn(t, data, "quiet lanterns at dawn\n", "users", "add", "christina", "--role", "viewer", "--password-stdin")
}
