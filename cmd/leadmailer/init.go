package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
)

func initCommand() *command {
	return &command{
		name:    "init",
		summary: "create the data directory and database (safe to run again)",
		usage: `Usage: leadmailer init [--data DIR] [--admin NAME [--password-stdin]]

Creates the data directory, its secret key, the database and a starter configuration file
(leadmailer.toml, with placeholders for the sender that must be filled in before mail can be
sent), or brings an existing database's schema up to date. Running it again changes nothing:
an existing configuration file is never overwritten. Other commands do this on their own, so
init is only needed to set up a directory ahead of time.

--admin NAME also creates the web app's first user, an admin, asking for the password on the
terminal (or reading it from standard input with --password-stdin); see "leadmailer help users".

Examples:
  leadmailer init --data /var/lib/leadmailer
  leadmailer init --admin anna
`,
		run: runInit,
	}
}

func runInit(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("init", e)
	admin := fs.String("admin", "", "")
	pwStdin := fs.Bool("password-stdin", false, "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("init takes no arguments, got %q", rest)
	}
	var adminHash string
	if *admin != "" {
		if err := leadmailer.ValidateUserName(*admin); err != nil {
			return err
		}
		if adminHash, err = readNewPassword(e, *admin, *pwStdin); err != nil {
			return err
		}
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	version, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	wrote, err := writeStarterConfig(*dataDir)
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(*dataDir)
	fmt.Fprintf(e.stdout, "Data directory %s is ready (database schema version %d).\n", abs, version)
	if wrote {
		fmt.Fprintf(e.stdout, "Wrote %s: fill in the sender (every CHANGE-ME) before sending mail.\n",
			filepath.Join(abs, config.FileName))
	}
	if *admin != "" {
		return addUser(ctx, e, db, *admin, leadmailer.RoleAdmin, adminHash)
	}
	return nil
}
