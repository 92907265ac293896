package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
	"github.com/leadmailer/leadmailer/store"
	"golang.org/x/term"
)

func usersCommand() *command {
	return &command{
		name:    "users",
		summary: "add, list and disable the people who log in to the web app",
		usage: `Usage:
  leadmailer users add NAME --role admin|marketer|viewer [--password-stdin]
  leadmailer users list [--json]
  leadmailer users passwd NAME [--password-stdin]
  leadmailer users disable NAME

Everyone who uses the web app logs in with a personal user name and password; the audit trail
records what each of them did. Roles:
  viewer     reads leads and where their values came from
  marketer   also uploads CSV files, runs sources and campaigns
  admin      also manages users, exports and erases personal data, reads the audit log

The password is asked for twice on the terminal, without echo, or read from the first line of
standard input with --password-stdin (for scripts). It is never a flag, so it never shows in
the shell history or the process list. It must be at least 12 characters long. Changing a
password or disabling a user ends that user's open sessions at once. Users are disabled, not
deleted, so that the audit trail keeps naming them.

Examples:
  leadmailer users add anna --role marketer
  printf '%s\n' "$PASSWORD" | leadmailer users add bert --role viewer --password-stdin
  leadmailer users passwd anna
  leadmailer users disable bert
`,
		run: runUsers,
	}
}

func runUsers(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("say add, list, passwd or disable")
	}
	if isHelp(args[0]) {
		return flag.ErrHelp
	}
	sub := args[0]
	fs, dataDir := newFlags("users "+sub, e)
	role := fs.String("role", "", "")
	pwStdin := fs.Bool("password-stdin", false, "")
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		if len(rest) > 0 {
			return usagef("users list takes no arguments, got %q", rest)
		}
	case "add", "passwd", "disable":
		if len(rest) != 1 {
			return usagef("users %s needs one user NAME", sub)
		}
	default:
		return usagef("unknown users command %q: say add, list, passwd or disable", sub)
	}
	if sub == "add" && !leadmailer.Role(*role).Valid() {
		return usagef("--role %q: use admin, marketer or viewer", *role)
	}
	var hash string
	if sub == "add" || sub == "passwd" {
		if err := leadmailer.ValidateUserName(rest[0]); err != nil {
			return err
		}
		if hash, err = readNewPassword(e, rest[0], *pwStdin); err != nil {
			return err
		}
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "add":
		return addUser(ctx, e, db, rest[0], leadmailer.Role(*role), hash)
	case "passwd":
		if err := db.SetUserPassword(ctx, rest[0], hash); err != nil {
			return err
		}
		if err := recordAudit(ctx, e, db, leadmailer.AuditUserPassword, rest[0], ""); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Changed the password of %s and ended the user's sessions.\n", rest[0])
		return nil
	case "disable":
		if err := db.DisableUser(ctx, rest[0]); err != nil {
			return err
		}
		if err := recordAudit(ctx, e, db, leadmailer.AuditUserDisable, rest[0], ""); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Disabled %s and ended the user's sessions.\n", rest[0])
		return nil
	}
	users, err := db.FindUsers(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if users == nil {
			users = []*leadmailer.User{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(users)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATUS\tCREATED\tLAST LOGIN")
	for _, u := range users {
		status, last := "active", "never"
		if u.Disabled {
			status = "disabled"
		}
		if u.LastLoginAt != nil {
			last = u.LastLoginAt.Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, status, u.CreatedAt.Format(time.DateTime), last)
	}
	return tw.Flush()
}

// addUser creates a user and records it in the audit trail.
func addUser(ctx context.Context, e *env, db *store.DB, name string, role leadmailer.Role, hash string) error {
	u := &leadmailer.User{Name: name, Role: role, PasswordHash: hash}
	if err := db.CreateUser(ctx, u); err != nil {
		return err
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditUserCreate, name, "role "+string(role)); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Added %s with role %s.\n", name, role)
	return nil
}

// readNewPassword reads a new password for the user called name, from the first line of
// standard input with fromStdin, otherwise from the terminal twice without echo, checks it
// and returns its hash.
func readNewPassword(e *env, name string, fromStdin bool) (string, error) {
	var pw string
	if fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	} else {
		f, ok := e.stdin.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return "", usagef("standard input is not a terminal: give the password on standard input with --password-stdin, e.g. printf '%%s\\n' \"$PASSWORD\" | leadmailer ... --password-stdin")
		}
		fd := int(f.Fd())
		var err error
		if pw, err = promptNewPassword(e.stderr, name, func() ([]byte, error) { return term.ReadPassword(fd) }); err != nil {
			return "", err
		}
	}
	if err := auth.CheckNewPassword(name, pw); err != nil {
		return "", err
	}
	return auth.HashPassword(pw)
}

// passwordAttempts is how often the terminal prompt asks before it gives up.
const passwordAttempts = 3

// promptNewPassword asks on w for a new password and its repetition, each read by read
// without echo. A password that is too short, common or made of the user's name, or a repetition that differs, is explained and
// asked for again, up to passwordAttempts times: a typo should not end the command and lose
// what the user typed before it.
func promptNewPassword(w io.Writer, name string, read func() ([]byte, error)) (string, error) {
	var last error
	for range passwordAttempts {
		fmt.Fprintf(w, "New password (at least %d characters): ", auth.MinPasswordLength)
		first, err := read()
		fmt.Fprintln(w)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if err := auth.CheckNewPassword(name, string(first)); err != nil {
			fmt.Fprintf(w, "%v. Try again.\n", err)
			last = err
			continue
		}
		fmt.Fprint(w, "Repeat the password: ")
		second, err := read()
		fmt.Fprintln(w)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(first) != string(second) {
			fmt.Fprintln(w, "The two passwords differ. Try again.")
			last = leadmailer.Errorf(leadmailer.EINVALID, "the two passwords differ")
			continue
		}
		return string(first), nil
	}
	return "", fmt.Errorf("no password after %d attempts, nothing was changed: %w", passwordAttempts, last)
}
