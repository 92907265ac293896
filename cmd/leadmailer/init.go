package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/leadmailer/leadmailer/config"
)

func initCommand() *command {
	return &command{
		name:    "init",
		summary: "create the data directory and database (safe to run again)",
		usage: `Usage: leadmailer init [--data DIR]

Creates the data directory, its secret key, the database and a starter configuration file
(leadmailer.toml, with placeholders for the sender that must be filled in before mail can be
sent), or brings an existing database's schema up to date. Running it again changes nothing:
an existing configuration file is never overwritten. Other commands do this on their own, so
init is only needed to set up a directory ahead of time.

Example:
  leadmailer init --data /var/lib/leadmailer
`,
		run: runInit,
	}
}

func runInit(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("init", e)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("init takes no arguments, got %q", rest)
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
	return nil
}
