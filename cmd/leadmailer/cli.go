package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"golang.org/x/term"
)

// env is the process's outside world, gathered in one place so tests can run commands
// in-process with their own streams and environment.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// stderrIsTerminal decides whether progress bars are drawn.
	stderrIsTerminal bool
}

func newEnv() *env {
	return &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		stderrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
	}
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one leadmailer command.
type command struct {
	name    string
	summary string
	usage   string // shown by "help NAME" and on a usage error
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []*command {
	return []*command{
		initCommand(),
		importCommand(),
		leadsCommand(),
		importsCommand(),
		sourcesCommand(),
		campaignsCommand(),
		suppressCommand(),
		bouncesCommand(),
		retentionCommand(),
		serveCommand(),
		usersCommand(),
		tokensCommand(),
		auditCommand(),
		backupCommand(),
		restoreCommand(),
		migrateDataCommand(),
		registerCommand(),
		configCommand(),
	}
}

const mainUsage = `leadmailer collects business leads, remembers where every value came from, and mails them
lawfully.

Usage:
  leadmailer COMMAND [ARGS] [FLAGS]

Commands:
%s
Every command takes --data DIR (or LEADMAILER_DATA), the data directory holding the database;
it defaults to ./leadmailer-data and is created when missing.

Run "leadmailer help COMMAND" for a command's flags and examples.
`

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			for _, c := range commands() {
				if c.name == args[1] {
					fmt.Fprint(e.stdout, c.usage)
					return exitOK
				}
			}
			fmt.Fprintf(e.stderr, "leadmailer: no command %q; run \"leadmailer help\" for the list\n", args[1])
			return exitUsage
		}
		printMainUsage(e.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		var ue *usageError
		var tf *tempFailError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			fmt.Fprint(e.stdout, c.usage)
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(e.stderr, "leadmailer %s: %v\n\n%s", c.name, err, c.usage)
			return exitUsage
		case errors.As(err, &tf):
			fmt.Fprintf(e.stderr, "leadmailer %s: %v\n", c.name, err)
			return exitTempFail
		default:
			fmt.Fprintf(e.stderr, "leadmailer %s: %v\n", c.name, err)
			return exitError
		}
	}
	fmt.Fprintf(e.stderr, "leadmailer: no command %q; run \"leadmailer help\" for the list\n", args[0])
	return exitUsage
}

func printMainUsage(w io.Writer) {
	var b strings.Builder
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-*s %s\n", width+1, c.name, c.summary)
	}
	fmt.Fprintf(w, mainUsage, b.String())
}

// usageError is a mistake in how a command was called; its usage is printed with it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// newFlags returns a flag set that reports errors instead of printing them, with the
// --data flag every command has.
func newFlags(name string, e *env) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dataDir := e.getenv("LEADMAILER_DATA")
	if dataDir == "" {
		dataDir = "leadmailer-data"
	}
	return fs, fs.String("data", dataDir, "data directory")
}

// parseFlags parses args, allowing flags after positional arguments ("import FILE --source X"),
// and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// isHelp reports whether arg asks for help. Commands with subcommands check it before the
// subcommand, which the flag package never sees.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// multiFlag collects a flag given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// actor names who runs a CLI command, for import runs and the audit trail: the operating
// system user.
func actor(e *env) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "os:" + u.Username
	}
	if name := e.getenv("USER"); name != "" {
		return "os:" + name
	}
	return "os:unknown"
}
