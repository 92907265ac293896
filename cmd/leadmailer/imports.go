package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
)

func importsCommand() *command {
	return &command{
		name:    "imports",
		summary: "list import runs, or show one run's report",
		usage: `Usage:
  leadmailer imports list [--source NAME] [--limit N] [--json]
  leadmailer imports show ID [--json]

Every import is a run with its source, file, checksum, who ran it, when, its counts and its
status: completed, failed (with the error), running, or interrupted (a run whose process
stopped before it finished; importing the same file again completes the job).

Examples:
  leadmailer imports list --source crm-export
  leadmailer imports show 12 --json
`,
		run: runImports,
	}
}

func runImports(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("say list or show")
	}
	if isHelp(args[0]) {
		return flag.ErrHelp
	}
	fs, dataDir := newFlags("imports "+args[0], e)
	asJSON := fs.Bool("json", false, "")
	source := fs.String("source", "", "")
	limit := fs.Int("limit", 50, "")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	var runs []*leadmailer.ImportRun
	switch args[0] {
	case "list":
		if len(rest) > 0 {
			return usagef("imports list takes no arguments, got %q", rest)
		}
		db, err := openData(ctx, *dataDir)
		if err != nil {
			return err
		}
		defer db.Close()
		if runs, err = db.FindImportRuns(ctx, *source, *limit); err != nil {
			return err
		}
	case "show":
		if len(rest) != 1 {
			return usagef("give one run ID")
		}
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return usagef("run ID %q is not a number", rest[0])
		}
		db, err := openData(ctx, *dataDir)
		if err != nil {
			return err
		}
		defer db.Close()
		run, err := db.FindImportRun(ctx, id)
		if err != nil {
			return err
		}
		runs = append(runs, run)
	default:
		return usagef("unknown imports command %q: say list or show", args[0])
	}
	now := time.Now()
	for _, r := range runs {
		r.Status = r.EffectiveStatus(now)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if args[0] == "show" {
			return enc.Encode(runs[0])
		}
		if runs == nil {
			runs = []*leadmailer.ImportRun{}
		}
		return enc.Encode(runs)
	}
	if args[0] == "show" {
		printRun(e, runs[0])
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tSOURCE\tKIND\tFILE\tSTATUS\tREAD\tNEW\tUPDATED\tREJECTED")
	for _, r := range runs {
		c := r.Counts
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", r.ID, r.StartedAt.Format(time.DateTime),
			r.Source, r.Kind, r.FileName, r.Status, c.Read, c.Inserted, c.Updated, c.Rejected)
	}
	return tw.Flush()
}

func printRun(e *env, r *leadmailer.ImportRun) {
	w := e.stdout
	fmt.Fprintf(w, "Run %d: source %q (%s), %s\n", r.ID, r.Source, r.Kind, r.Status)
	if r.FileName != "" {
		fmt.Fprintf(w, "File:     %s\n", r.FileName)
	}
	if r.FileSHA256 != "" {
		fmt.Fprintf(w, "SHA-256:  %s\n", r.FileSHA256)
	}
	fmt.Fprintf(w, "By:       %s\n", r.Actor)
	fmt.Fprintf(w, "Started:  %s\n", r.StartedAt.Format(time.RFC3339))
	if r.FinishedAt != nil {
		fmt.Fprintf(w, "Finished: %s (%s)\n", r.FinishedAt.Format(time.RFC3339), r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "Last batch committed: %s\n", r.HeartbeatAt.Format(time.RFC3339))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "Error:    %s\n", r.Error)
	}
	c := r.Counts
	fmt.Fprintf(w, "Rows: %d read, %d inserted, %d updated, %d unchanged, %s in file, %d suppressed, %d rejected\n",
		c.Read, c.Inserted, c.Updated, c.Unchanged, plural(c.Duplicates, "duplicate", "duplicates"), c.Suppressed, c.Rejected)
	if c.Skipped > 0 {
		fmt.Fprintf(w, "Skipped: %s\n", plural(c.Skipped, "record without an e-mail address whose business ID no lead has",
			"records without an e-mail address whose business ID no lead has"))
	}
	if len(r.Unmapped) > 0 {
		fmt.Fprintf(w, "Columns not stored: %s\n", importer.ListSome(r.Unmapped))
	}
}
